"""The operator's pages and the API docs under the Content-Security-Policy, in a real browser: nothing
refused, and what their scripts do still done (the audience count, live progress, the calendar
shortcuts, the import preview, the export's "select all", the chart, Swagger UI)."""

import re

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from playwright.sync_api import expect

from mailings.models import Mailing, Message
from tests.browser.conftest import PASSWORD
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)

CSV = "phone_number;operator_code;tag;timezone\n79000000101;;csp;UTC\n79000000102;;csp;UTC+3\n"


def _header_of(response) -> str:
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, f"{response.url} answered without the policy: {policy!r}"
    return policy


def _no_violation(page, csp_violations: list[str], where: str) -> None:
    page.evaluate("1")  # a round trip: reports the page sent before it have arrived
    assert not csp_violations, f"{where}: {csp_violations}"


@pytest.fixture
def running_mailing() -> Mailing:
    """A running mailing, half of its two messages sent."""
    mailing = MailingFactory(
        status=Mailing.Status.RUNNING, started_at=timezone.now(), message_text="Policy check", filter_tag="csp-old"
    )
    for status in (Message.Status.SENT, Message.Status.PENDING):
        MessageFactory(mailing=mailing, client=ClientFactory(tag="csp-old"), status=status, sent_at=timezone.now())
    return mailing


def test_an_operator_walks_the_admin_and_nothing_is_refused(
    live_server, page, shot, csp_violations, settings, operator_login, running_mailing
):
    settings.ADMIN_LIVE_COUNTS_SECONDS = 0.3
    base = live_server.url

    # The login page, and the index behind it.
    _header_of(page.goto(f"{base}/admin/login/"))
    operator_login()
    _no_violation(page, csp_violations, "login page and index")

    # Clients, their import with its preview, their export with its "select all".
    _header_of(page.goto(f"{base}/admin/mailings/client/"))
    expect(page.locator("#result_list")).to_be_visible()
    page.goto(f"{base}/admin/mailings/client/import/")
    upload = page.locator("input[type=file]")
    upload.set_input_files(files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.click("input[type=submit][value=Submit]")
    expect(page.locator(".import-summary")).to_contain_text("2 new")
    shot("import-preview")
    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_contain_text("2 new")
    _no_violation(page, csp_violations, "client import")
    page.goto(f"{base}/admin/mailings/client/export/")
    fields = page.locator(".selectable-field-export-row input[type=checkbox]")
    expect(fields.first).to_be_checked()
    page.locator("input.select-toggle").uncheck()
    for index in range(fields.count()):
        expect(fields.nth(index)).not_to_be_checked()
    page.locator("input.select-toggle").check()
    expect(fields.last).to_be_checked()
    _no_violation(page, csp_violations, "client export")

    # The do-not-contact list and its import with its preview.
    _header_of(page.goto(f"{base}/admin/mailings/suppression/"))
    page.goto(f"{base}/admin/mailings/suppression/import/")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": b"phone_number\n89131234567\n"}]
    )
    page.click("input[type=submit][value=Submit]")
    expect(page.locator(".import-summary")).to_contain_text("1 to add to the do-not-contact list")
    page.click("input[name=confirm]")
    expect(page.locator("#result_list")).to_contain_text("79131234567")
    _no_violation(page, csp_violations, "do-not-contact list and its import")

    # A new mailing: the calendar shortcuts fill the dates, the audience count follows the filter.
    _header_of(page.goto(f"{base}/admin/mailings/mailing/add/"))
    expect(page.locator("#audience-preview")).to_have_text("Audience now: 4 client(s) match this filter.")
    page.locator(".field-start_datetime .datetimeshortcuts a", has_text="Today").first.click()
    expect(page.locator("#id_start_datetime_0")).to_have_value(re.compile(r"\d{4}-\d{2}-\d{2}"))
    page.fill("#id_filter_tag", "csp")
    expect(page.locator("#audience-preview")).to_have_text("Audience now: 2 client(s) match this filter.")
    page.fill("#id_filter_operator_code", "9x")
    expect(page.locator("#audience-preview")).to_have_text("The operator code is 3 digits, such as 913.")
    shot("mailing-form")
    _no_violation(page, csp_violations, "mailing form")

    # The mailing list follows the sending without a reload; the progress bar is drawn without a style attribute.
    page.goto(f"{base}/admin/mailings/mailing/")
    row = page.locator("#result_list tr", has=page.locator(f'[data-mailing="{running_mailing.pk}"]'))
    expect(row.locator(".mailing-progress .figure")).to_have_text("1 / 2")
    expect(row.locator(".mailing-progress .sent")).to_have_attribute("width", "50.0")
    Message.objects.filter(mailing=running_mailing, status=Message.Status.PENDING).update(
        status=Message.Status.SENT, sent_at=timezone.now()
    )
    expect(row.locator(".mailing-progress .figure")).to_have_text("2 / 2")
    expect(row.locator(".mailing-progress .sent")).to_have_attribute("width", "100.0")
    shot("mailing-list")
    _no_violation(page, csp_violations, "mailing list")

    # Its change form, its messages, the statistics with their chart.
    page.goto(f"{base}/admin/mailings/mailing/{running_mailing.pk}/change/")
    expect(page.locator("#audience-preview")).to_have_text("Audience now: 2 client(s) match this filter.")
    page.goto(f"{base}/admin/mailings/message/?mailing__id__exact={running_mailing.pk}")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.goto(f"{base}/admin/mailings/mailingstatistics/")
    chart = page.locator("#daily-chart svg")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["height"] > 100
    expect(page.locator("#daily-chart figcaption")).to_contain_text("2 sent, 0 failed")
    expect(chart.locator("rect[fill='#2e7d32']:not([height='0.0'])").first).to_be_visible()
    shot("statistics")
    _no_violation(page, csp_violations, "messages and statistics")

    # The Sending schedule (interval and on/off), and the stock periodic task form (the daily e-mail's too).
    page.goto(f"{base}/admin/sending-schedule/")
    expect(page.locator("#id_every_seconds")).to_be_visible()
    page.goto(f"{base}/admin/django_celery_beat/periodictask/")
    page.locator("#result_list tbody th a").first.click()
    expect(page.locator("#id_interval")).to_be_visible()
    _no_violation(page, csp_violations, "sending schedule and periodic tasks")

    # The API docs: Swagger UI from our own static files, the operations listed and opened.
    _header_of(page.goto(f"{base}/docs/"))
    operation = page.locator(".opblock").first
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    shot("api-docs")
    _no_violation(page, csp_violations, "API docs")


def test_a_superuser_gets_the_crontab_read_aloud_without_an_inline_script(
    live_server, page, csp_violations, django_user_model
):
    django_user_model.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    crontab = CrontabSchedule.objects.create(minute="0", hour="7")
    task = PeriodicTask.objects.create(
        name="morning", task="mailings.tasks.process_active_mailings",
        interval=IntervalSchedule.objects.create(every=10, period="seconds"),
    )  # fmt: skip
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    _header_of(page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/{task.pk}/change/"))
    help_text = page.locator(".field-crontab .help")
    expect(help_text).not_to_contain_text("Translation")
    page.select_option("#id_crontab", str(crontab.pk))
    expect(help_text).to_contain_text(f"Translation: {crontab.human_readable}")
    expect(page.locator(".field-crontab_translation")).to_be_hidden()
    _no_violation(page, csp_violations, "periodic task form")
