"""An operator's day in a real browser: log in, import clients, create a mailing, watch it send, read statistics."""

import re
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

CSV = """phone_number;operator_code;tag;timezone
+7 (900) 000-00-01;;browser;Europe/Moscow
79000000002;;browser;UTC+3
79130000003;;browser;Asia/Novosibirsk
79130000004;;other;UTC
"""


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


def test_import_create_watch_and_read_statistics(
    live_server, page, shot, operator_login, tmp_path, settings, sandbox_factory, enqueued
):
    settings.SENDING_BATCH_SIZE = 1
    settings.ADMIN_LIVE_COUNTS_SECONDS = 0.3
    sandbox = sandbox_factory(latency_ms=0)
    operator_login()
    shot("index")

    # Import the clients: upload, preview, confirm.
    page.click("text=Clients")
    page.click("a:has-text('Import')")
    upload = tmp_path / "clients.csv"
    upload.write_text(CSV, encoding="utf-8-sig")
    page.set_input_files("input[type=file]", str(upload))
    shot("import-form")
    page.click("input[type=submit][value=Submit]")
    expect(page.locator(".import-summary")).to_contain_text("4 new")
    shot("import-preview")
    assert Client.objects.count() == 0
    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_contain_text("4 new")
    expect(page.locator("#result_list")).to_contain_text("79000000001")
    shot("clients-imported")
    assert Client.objects.filter(tag="browser").count() == 3

    # Create a mailing for the tag; the form says how many clients it reaches.
    page.goto(f"{live_server.url}/admin/mailings/mailing/add/")
    now = timezone.localtime()
    page.fill("#id_message_text", "Hello from the browser")
    page.fill("#id_start_datetime_0", now.strftime("%Y-%m-%d"))
    page.fill("#id_start_datetime_1", (now - timedelta(minutes=1)).strftime("%H:%M:%S"))
    page.fill("#id_end_datetime_0", (now + timedelta(hours=2)).strftime("%Y-%m-%d"))
    page.fill("#id_end_datetime_1", (now + timedelta(hours=2)).strftime("%H:%M:%S"))
    page.fill("#id_filter_tag", "browser")
    expect(page.locator("#audience-preview")).to_have_text("Audience now: 3 client(s) match this filter.")
    shot("mailing-form")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    mailing = Mailing.objects.get(message_text="Hello from the browser")
    row = page.locator("#result_list tr", has=page.locator(f'[data-mailing="{mailing.pk}"]'))
    expect(row.locator(".mailing-status")).to_have_text("Scheduled")
    shot("mailing-scheduled")

    # The engine starts it and sends one message at a time; the open page follows without a reload.
    processor.mailings_process()
    expect(row.locator(".mailing-status")).to_have_text("Running")
    expect(row.locator(".mailing-progress .figure")).to_have_text("0 / 3")
    config = SendingConfig.from_settings()
    circuit = Circuit(CircuitSettings(threshold=3, cooldown=30, refresh=0))
    for sent in (1, 2, 3):
        mailing_id, ids, token = enqueued.pop(0)
        in_worker_thread(
            batch_send, mailing_id=mailing_id, message_ids=ids, token=token, config=config, circuit=circuit
        )
        expect(row.locator(".mailing-progress .figure")).to_have_text(f"{sent} / 3")
        if sent == 2:
            expect(row.locator(".mailing-counts")).to_have_text("0 failed · 1 waiting · 0 expired · 0 cancelled")
            shot("mailing-sending")
    processor.mailings_process()
    expect(row.locator(".mailing-status")).to_have_text("Finished")
    shot("mailing-finished")
    assert sandbox.stats["accepted"] == 3
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}

    # A test message of it, to the operator's own phone.
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/")
    page.click("text=Send a test message")
    page.fill("#id_phone_number", "+7 999 000-11-22")
    shot("test-message-form")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Test message sent to 79990001122")
    shot("test-message-sent")
    assert sandbox.stats["accepted"] == 4

    # Its messages, from the mailing's link.
    page.goto(f"{live_server.url}/admin/mailings/mailing/")
    row.locator("a:has-text('messages')").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    shot("delivery-log")

    # Statistics: the row, the totals and the chart.
    page.goto(f"{live_server.url}/admin/mailings/mailingstatistics/")
    expect(page.locator("#result_list")).to_contain_text("Hello from the browser")
    expect(page.locator("#result_list")).to_contain_text("100.0%")
    expect(page.locator("svg").first).to_be_visible()
    shot("statistics")
    assert re.search(r"3\s+sent", page.locator("#content").inner_text())
