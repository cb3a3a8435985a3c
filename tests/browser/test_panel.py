"""A mailing's page as its control panel in Chromium, at 1366 and 390 px wide: its progress and
counts leading to its messages, pause, cancel behind a confirmation, clone, and the History."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mailings.models import Mailing, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)
S = Message.Status
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_the_panel_pauses_cancels_after_confirming_clones_and_notes_it_all(
    live_server, page, shot, operator_login, settings, viewport
):
    settings.ADMIN_LIVE_COUNTS_SECONDS = 0.3
    page.set_viewport_size(VIEWPORTS[viewport])
    mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now(), message_text="Spring sale")
    for status in [S.SENT, S.SENT, S.FAILED, S.PENDING, S.PENDING, S.PENDING, S.SENDING]:
        MessageFactory(mailing=mailing, client=ClientFactory(), status=status)
    operator_login()
    change = f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/"
    page.goto(change)

    panel = page.locator("#mailing-panel")
    expect(panel.locator(".mailing-status")).to_have_text("Running")
    expect(panel.locator(".mailing-progress .figure")).to_have_text("2 / 7")
    expect(panel.locator(".mailing-progress .bar")).to_be_in_viewport()
    assert no_sideways_scroll(page)
    shot("panel-running")

    # The progress is live: a message sent meanwhile shows without a reload.
    Message.objects.filter(mailing=mailing, status=S.SENDING).update(status=S.SENT, sent_at=timezone.now())
    expect(panel.locator(".mailing-progress .figure")).to_have_text("3 / 7")

    # Its waiting messages, one click away.
    panel.locator("a.panel-count-waiting").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/mailings/message/"
        f"?mailing__id__exact={mailing.pk}&status__exact=pending&status__exact=sending"
    )
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    page.go_back()

    page.locator(".panel-pause").click()
    expect(page.locator(".messagelist")).to_contain_text("Paused 1 mailing(s).")
    expect(panel.locator(".mailing-status")).to_have_text("Paused")
    expect(page.locator(".panel-resume")).to_be_visible()
    expect(page.locator(".panel-pause")).to_have_count(0)

    # Cancel asks first, and Go back cancels nothing.
    page.locator(".panel-cancel").click()
    expect(page.locator("#cancel-summary")).to_contain_text("3 waiting messages are dropped")
    assert no_sideways_scroll(page)
    shot("cancel-confirmation")
    page.locator("#go-back").click()
    expect(page).to_have_url(change)
    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.PAUSED
    page.locator(".panel-cancel").click()
    page.locator("#confirm-cancel").click()
    expect(page.locator(".messagelist")).to_contain_text("Cancelled 1 mailing(s).")
    expect(panel.locator(".mailing-status")).to_have_text("Cancelled")
    assert Message.objects.filter(mailing=mailing, status=S.CANCELLED).count() == 3
    expect(page.locator(".panel-cancel")).to_have_count(0)
    shot("panel-cancelled")

    # Clone: a paused copy, opened for review.
    page.locator(".panel-clone").click()
    copy = Mailing.objects.exclude(pk=mailing.pk).get()
    expect(page).to_have_url(f"{live_server.url}/admin/mailings/mailing/{copy.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text(f"is a copy of #{mailing.pk}, paused")
    expect(page.locator("#id_message_text")).to_have_value("Spring sale")
    expect(panel.locator(".mailing-status")).to_have_text("Paused")
    assert no_sideways_scroll(page)
    shot("clone")

    page.goto(f"{change.removesuffix('change/')}history/")
    rows = page.locator("#change-history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Paused.")
    expect(rows.nth(1)).to_contain_text("Cancelled: 3 waiting messages dropped.")
    expect(rows.nth(2)).to_contain_text(f"Cloned as mailing #{copy.pk}.")
    expect(rows.nth(0)).to_contain_text("olga")
    shot("history")
