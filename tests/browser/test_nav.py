"""Finding one's way in Chromium, at 1366x768 and on a phone (390x844): the index leads with the
mailing pages, the Sending schedule switches sending off and on with a banner meanwhile, a refusal
is a styled page, and the mailing pages fit the phone's width."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mailings.models import Mailing, Message
from tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request, page):
    page.set_viewport_size(VIEWPORTS[request.param])
    return VIEWPORTS[request.param]


def _running_mailing() -> Mailing:
    mailing = MailingFactory(
        status=Mailing.Status.RUNNING,
        started_at=timezone.now(),
        end_datetime=timezone.now() + timedelta(days=2),
        message_text="Spring sale: 20% off every umbrella in the shop until Sunday, show this SMS at the till",
        filter_operator_code="900",
        filter_tag="regular",
        send_window_start="09:00",
        send_window_end="21:00",
    )
    statuses = [Message.Status.SENT] * 5 + [Message.Status.FAILED] + [Message.Status.PENDING] * 4
    Message.objects.bulk_create(
        Message(mailing=mailing, client=client, phone_number=client.phone_number, status=status)
        for client, status in zip(ClientFactory.create_batch(len(statuses)), statuses, strict=True)
    )
    return mailing


def _no_sideways_scroll(page, viewport) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page is {width}px wide in a {viewport['width']}px window"


def test_the_index_leads_with_the_mailing_pages(live_server, page, shot, operator_login, viewport):
    operator_login()
    apps = page.locator("#content-main .module caption a")
    expect(apps.first).to_have_text("Mailings")
    rows = page.locator("#content-main .app-mailings th a")
    expect(rows).to_have_text(
        [
            "Mailings",
            "Mailing statistics",
            "Messages",
            "Clients",
            "Do-not-contact list",
            "Routes and providers",
            "Sending schedule",
        ]
    )
    expect(page.locator("#content-main .app-django_celery_beat")).to_have_count(0)
    icon = page.locator("link[rel=icon]")
    assert page.request.get(live_server.url + icon.get_attribute("href")).status == 200
    assert page.request.get(f"{live_server.url}/favicon.ico").status == 200  # followed to the SVG
    _no_sideways_scroll(page, viewport)
    shot("index")


def test_switching_sending_off_shows_a_banner_everywhere(live_server, page, shot, operator_login, viewport):
    operator_login()
    page.click("#content-main a:text-is('Sending schedule')")
    expect(page.locator("#schedule-state")).to_contain_text("Sending is on:")
    expect(page.locator("#sending-off")).to_have_count(0)
    shot("schedule-on")
    page.uncheck("#id_enabled")
    page.fill("#id_every_seconds", "20")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_have_text("Sending off, the tick every 20 seconds.")
    banner = page.locator("#sending-off")
    expect(banner).to_contain_text("Sending is switched off: mailings do not send. Switch it on in Sending schedule.")
    _no_sideways_scroll(page, viewport)
    shot("schedule-off")
    page.goto(f"{live_server.url}/admin/mailings/mailing/")
    expect(banner).to_be_visible()
    shot("mailings-with-banner")
    banner.locator("a").click()
    page.check("#id_enabled")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_have_text("Sending on, the tick every 20 seconds.")
    expect(page.locator("#sending-off")).to_have_count(0)


def test_a_refusal_is_a_styled_page_in_the_domains_words(
    live_server, page, shot, operator_login, viewport, django_user_model
):
    mailing = _running_mailing()
    operator_login()
    response = page.goto(f"{live_server.url}/admin/auth/user/")
    assert response.status == 403
    expect(page.locator("#site-name")).to_have_text("Mailing back-office")
    expect(page.locator("#refusal-reason")).to_be_visible()
    _no_sideways_scroll(page, viewport)
    shot("forbidden")
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/delete/")
    expect(page.locator(".messagelist .error")).to_have_text(
        f"Mailing #{mailing.pk} has 10 messages: cancel it instead. "
        "It cannot be deleted, as its statistics depend on them."
    )
    shot("delete-refused")


def test_the_mailing_pages_fit_the_window(live_server, page, shot, operator_login, viewport):
    mailing = _running_mailing()
    MailingFactory.create_batch(3)
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/")
    progress = page.locator(f".mailing-progress[data-mailing='{mailing.pk}']")
    expect(progress).to_be_visible()
    expect(progress.locator(".figure")).to_have_text("5 / 10")
    shot("mailing-list")
    box = progress.bounding_box()
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= viewport["width"], box
    _no_sideways_scroll(page, viewport)
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/")
    expect(page.locator("#id_message_text")).to_be_visible()
    _no_sideways_scroll(page, viewport)
    shot("mailing-page")
