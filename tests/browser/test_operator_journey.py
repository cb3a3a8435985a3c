"""An operator's day in a real browser, at a laptop's width and a phone's (issue 12's journey):
import clients, compose a mailing (the composer's figures, nothing cut, the limit on parts, the
zones said, the warning on an empty audience), send a test message, watch it send, pause it, read
its History, cancel it after confirming, clone it, and follow statistics to its messages.

Each step asserts what the operator sees; the per-feature tests (test_composer, test_guards,
test_panel, test_timeline, test_stats, test_nav) go into each part in depth."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from mailings.models import Client, Mailing, Message
from mailings.sending import processor
from mailings.sending.batch import batch_send
from mailings.sending.circuit import Circuit, CircuitSettings
from mailings.sending.config import SendingConfig

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}

# The last phone is written as spreadsheets often have it: with the trunk prefix 8.
CSV = """phone_number;operator_code;tag;timezone
+7 (900) 000-00-01;;browser;Europe/Moscow
79000000002;;browser;UTC+3
79130000003;;browser;Asia/Novosibirsk
79130000004;;other;UTC
8 (900) 000-00-05;;browser;Europe/Moscow
"""
TEXT = "Hello from the browser"
MOSCOW_TIME = "Moscow time (Europe/Moscow, UTC+03:00)"


def in_worker_thread(function, **kwargs):
    """Run engine code in a thread of its own, as a worker would: it runs an event loop, and this
    thread's belongs to Playwright."""

    def run():
        try:
            return function(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def fits_the_width(page, viewport) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{page.url} is {width}px wide in a {viewport['width']}px window"


@pytest.mark.parametrize("name", VIEWPORTS)
def test_import_compose_send_pause_cancel_clone_and_read_statistics(
    live_server, page, shot, operator_login, tmp_path, settings, sandbox_factory, enqueued, name
):
    viewport = VIEWPORTS[name]
    page.set_viewport_size(viewport)
    settings.TIME_ZONE = "Europe/Moscow"  # the operator's: start and end are read in it
    settings.SENDING_BATCH_SIZE = 1
    settings.SENDING_MAX_ATTEMPTS = 1  # a message the provider refuses once fails for good
    settings.ADMIN_LIVE_COUNTS_SECONDS = 0.3
    sandbox = sandbox_factory(latency_ms=0)
    operator_login()
    expect(page.locator("#content-main .module caption a").first).to_have_text("Mailings")
    shot("index")

    # Import the clients: upload, preview (with a note on the phone written with 8), confirm.
    page.click("#content-main a:text-is('Clients')")
    page.click("a:has-text('Import')")
    upload = tmp_path / "clients.csv"
    upload.write_text(CSV, encoding="utf-8-sig")
    page.set_input_files("input[type=file]", str(upload))
    shot("import-form")
    page.click("input[type=submit][value=Submit]")
    expect(page.locator(".import-summary")).to_contain_text("5 new")
    expect(page.locator(".import-note")).to_have_text(
        "1 phone was written with the trunk prefix 8 (such as 8 900 123-45-67) and read as 7 with the same ten digits."
    )
    shot("import-preview")
    assert Client.objects.count() == 0
    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_contain_text("5 new")
    expect(page.locator("#result_list")).to_contain_text("79000000001")
    expect(page.locator("#result_list")).to_contain_text("79000000005")
    shot("clients-imported")
    assert Client.objects.filter(tag="browser").count() == 4

    # A new mailing: the composer counts as the operator types.
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")
    text, counter = page.locator("#id_message_text"), page.locator("#text-parts")
    expect(text).not_to_have_attribute("maxlength", "1000")
    for typed, figures in [
        (("Sale " * 32)[:160], "160 characters · GSM-7 · 1 SMS part (up to 160 in one; at most 10)"),
        # € is two septets (escape and itself): 161 of them, two parts.
        (("Sale " * 32)[:159] + "€", "160 characters · GSM-7 · 2 SMS parts (153 characters a part; at most 10)"),
        ("Скидка " * 10, "70 characters · UCS-2 · 1 SMS part (up to 70 in one; at most 10)"),
        # The emoji is a surrogate pair, two UCS-2 units: 71 of them, two parts.
        (("Party tonight " * 5)[:69] + "🎉", "70 characters · UCS-2 · 2 SMS parts (67 characters a part; at most 10)"),
    ]:
        text.fill(typed)
        expect(counter).to_contain_text(figures)
    expect(counter).to_contain_text("UCS-2 because of: 🎉")
    # Under the box, from its left edge, at either width (not squeezed to the right on a phone).
    assert abs(counter.bounding_box()["x"] - text.bounding_box()["x"]) <= 12, (counter.bounding_box(), name)
    shot("composer-emoji")

    # 1,500 characters are kept whole, and refused on save for their 23 parts in UCS-2.
    long_text = ("Скидка 20% на всё до воскресенья! " * 45)[:1500]
    text.fill(long_text)
    expect(counter).to_contain_text("1,500 characters · UCS-2 · 23 SMS parts (67 characters a part; at most 10)")
    expect(counter).to_contain_text("too many, shorten the text")
    expect(text).to_have_value(long_text)

    # Start and end say their zone; the window fields, the client's.
    expect(page.locator(".field-start_datetime")).to_contain_text(MOSCOW_TIME)
    expect(page.locator(".field-end_datetime")).to_contain_text(MOSCOW_TIME)
    for field in ("send_window_start", "send_window_end"):
        expect(page.locator(f"#id_{field}_helptext")).to_contain_text("Client's local time")
        expect(page.locator(f".field-{field} .timezonewarning")).to_have_count(0)
    start = timezone.localtime() - timedelta(minutes=1)
    end = start + timedelta(hours=2)
    page.fill("#id_start_datetime_0", start.strftime("%Y-%m-%d"))
    page.fill("#id_start_datetime_1", start.strftime("%H:%M:%S"))
    page.fill("#id_end_datetime_0", end.strftime("%Y-%m-%d"))
    page.fill("#id_end_datetime_1", end.strftime("%H:%M:%S"))
    page.click("input[name=_save]")
    error = page.locator(".field-message_text .errorlist")
    expect(error).to_contain_text("The text is 23 SMS parts of 67 characters in UCS-2 (С, к, и, д, а, ...")  # noqa: RUF001
    expect(error).to_contain_text("at most 10 are allowed: shorten it.")
    expect(text).to_have_value(long_text)
    shot("too-many-parts")
    assert not Mailing.objects.exists()

    # A filter that matches nobody: a warning to confirm, not a mailing saved.
    text.fill(TEXT)
    expect(counter).to_contain_text("22 characters · GSM-7 · 1 SMS part")
    page.fill("#id_filter_tag", "nobody")
    expect(page.locator("#audience-preview")).to_have_text("Audience now: 0 client(s) match this filter.")
    page.click("input[name=_save]")
    warnings = page.locator("#guard-warnings")
    expect(warnings).to_contain_text("No client matches this filter (tag 'nobody') now: nothing would be sent.")
    expect(warnings.locator("label[for=id_confirm_warnings]")).to_contain_text("Save anyway")
    expect(warnings).to_be_in_viewport()
    shot("warning-to-confirm")
    assert not Mailing.objects.exists()

    # The real filter: saved without a question.
    page.fill("#id_filter_tag", "browser")
    expect(page.locator("#audience-preview")).to_have_text("Audience now: 4 client(s) match this filter.")
    shot("mailing-form")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    mailing = Mailing.objects.get(message_text=TEXT)
    row = page.locator("#result_list tr", has=page.locator(f'[data-mailing="{mailing.pk}"]'))
    expect(row.locator(".mailing-status")).to_have_text("Scheduled")
    fits_the_width(page, viewport)
    shot("mailing-scheduled")

    # A test message of it, to the operator's own phone, from its page.
    row.locator("a", has_text=TEXT).click()
    change = f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/"
    expect(page).to_have_url(change)
    page.locator(".panel-test-message").click()
    page.fill("#id_phone_number", "+7 999 000-11-22")
    shot("test-message-form")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Test message sent to 79990001122")
    shot("test-message-sent")
    assert sandbox.stats["accepted"] == 1

    # The engine starts it and sends one message at a time; the open list follows without a reload.
    page.goto(f"{live_server.url}/admin/mailings/mailing/")
    processor.mailings_process()
    expect(row.locator(".mailing-status")).to_have_text("Running")
    expect(row.locator(".mailing-progress .figure")).to_have_text("0 / 4")
    config = SendingConfig.from_settings()
    circuit = Circuit(CircuitSettings(threshold=3, cooldown=30, refresh=0))

    def send_next_batch() -> None:
        mailing_id, ids, token = enqueued.pop(0)
        in_worker_thread(
            batch_send, mailing_id=mailing_id, message_ids=ids, token=token, config=config, circuits=circuit
        )

    send_next_batch()
    expect(row.locator(".mailing-progress .figure")).to_have_text("1 / 4")
    send_next_batch()
    expect(row.locator(".mailing-progress .figure")).to_have_text("2 / 4")
    sandbox.sandbox.config.error_rate = 1.0  # the provider refuses the next one
    send_next_batch()
    sandbox.sandbox.config.error_rate = 0.0
    expect(row.locator(".mailing-counts")).to_have_text("1 failed · 1 waiting · 0 expired · 0 cancelled")
    expect(row.locator(".mailing-progress .figure")).to_have_text("2 / 4")
    fits_the_width(page, viewport)
    shot("mailing-sending")
    assert sandbox.stats["accepted"] == 3  # the test message and two of the mailing's

    # Its page is the control panel: progress, counts that lead to the messages, the timeline.
    row.locator("a", has_text=TEXT).click()
    panel = page.locator("#mailing-panel")
    expect(panel.locator(".mailing-status")).to_have_text("Running")
    expect(panel.locator(".mailing-progress .figure")).to_have_text("2 / 4")
    expect(panel.locator(".mailing-progress .bar")).to_be_in_viewport()
    expect(panel.locator("a.panel-count-waiting")).to_have_text("1 waiting")
    expect(page.locator("#timeline-chart figcaption")).to_contain_text("2 sent, 1 failed")
    fits_the_width(page, viewport)
    shot("mailing-page-running")

    # Pause.
    page.locator(".panel-pause").click()
    expect(page.locator(".messagelist")).to_contain_text("Paused 1 mailing(s).")
    expect(panel.locator(".mailing-status")).to_have_text("Paused")
    expect(page.locator(".panel-resume")).to_be_visible()
    shot("paused")

    # The History says who did what.
    page.locator("a.historylink").click()
    rows = page.locator("#change-history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Added.")
    expect(rows.nth(1)).to_contain_text("Test message sent to 79990001122: the provider accepted it")
    expect(rows.nth(2)).to_contain_text("Paused.")
    for n in range(3):
        expect(rows.nth(n)).to_contain_text("olga")
    shot("history")

    # Cancel asks first, saying what it drops; Go back cancels nothing; Confirm cancels.
    page.goto(change)
    page.locator(".panel-cancel").click()
    expect(page.locator("#cancel-summary")).to_contain_text("1 waiting message is dropped")
    fits_the_width(page, viewport)
    shot("cancel-confirmation")
    page.locator("#go-back").click()
    expect(page).to_have_url(change)
    expect(panel.locator(".mailing-status")).to_have_text("Paused")
    page.locator(".panel-cancel").click()
    page.locator("#confirm-cancel").click()
    expect(page.locator(".messagelist")).to_contain_text("Cancelled 1 mailing(s).")
    expect(panel.locator(".mailing-status")).to_have_text("Cancelled")
    expect(page.locator(".panel-cancel")).to_have_count(0)
    shot("cancelled")
    assert Message.objects.filter(mailing=mailing, status=Message.Status.CANCELLED).count() == 1

    # Clone: a paused copy, opened for review.
    page.locator(".panel-clone").click()
    expect(page.locator(".messagelist")).to_contain_text(f"is a copy of #{mailing.pk}, paused")
    copy = Mailing.objects.exclude(pk=mailing.pk).get()
    expect(page).to_have_url(f"{live_server.url}/admin/mailings/mailing/{copy.pk}/change/")
    expect(text).to_have_value(TEXT)
    expect(panel.locator(".mailing-status")).to_have_text("Paused")
    fits_the_width(page, viewport)
    shot("clone")

    # Statistics: the row's success rate leaves the cancelled message out; its counts lead to the
    # messages, its name to the mailing.
    page.goto(f"{live_server.url}/admin/mailings/mailingstatistics/")
    stats_row = page.locator(
        "#result_list tbody tr", has=page.locator(f"a.mailing-link[href$='/mailing/{mailing.pk}/change/']")
    )
    expect(stats_row.locator(".field-success_rate")).to_have_text("66.6%")  # 2 sent of 3 ended
    expect(stats_row.locator(".field-sent")).to_have_text("2")
    expect(stats_row.locator(".field-cancelled")).to_have_text("1")
    expect(page.locator("#statistics-totals .success-rate dd")).to_have_text("66.6%")
    expect(page.locator("svg").first).to_be_visible()
    fits_the_width(page, viewport)
    for cell in (".field-success_rate", ".field-failed", ".field-cancelled"):  # in view, not in a scroller
        box = stats_row.locator(cell).bounding_box()
        assert box["x"] >= 0, (cell, box)
        assert box["x"] + box["width"] <= viewport["width"], (cell, box)
    shot("statistics")
    stats_row.locator(".field-failed a").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody .field-status")).to_have_text("Failed")
    shot("failed-messages")
    page.go_back()
    stats_row.locator(".field-sent a").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.go_back()
    stats_row.locator("a.mailing-link").click()
    expect(page).to_have_url(change)
    expect(panel.locator(".mailing-status")).to_have_text("Cancelled")
