"""Statistics in Chromium: rows that lead to the mailing and to its messages by outcome, success rates
that leave waiting messages out, and a page that fits a phone."""

import itertools

import pytest
from playwright.sync_api import expect

from mailings.models import Mailing, Message
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)

S = Message.Status
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_statistics_lead_to_the_mailing_and_its_messages(live_server, page, shot, operator_login, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    running = MailingFactory(status=Mailing.Status.RUNNING, message_text="Spring sale, running")
    for status in [S.SENT, S.SENT, S.SENT, S.PENDING, S.SENDING]:
        MessageFactory(mailing=running, status=status)
    ended = MailingFactory(status=Mailing.Status.FINISHED, message_text="Winter sale, ended")
    for status in [S.SENT, S.EXPIRED, S.CANCELLED]:
        MessageFactory(mailing=ended, status=status)
    refused = MessageFactory(
        mailing=ended, status=S.FAILED, attempts=2, last_error="HTTP 400: number not served", token=424242
    )
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailingstatistics/")

    totals = page.locator("#statistics-totals")
    expect(totals.locator(".outcome-waiting dd")).to_have_text("2")
    expect(totals.locator(".outcome-cancelled dd")).to_have_text("1")
    expect(totals.locator(".success-rate dd")).to_have_text("66.6%")  # 4 sent of 6 ended, rounded down
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
    if viewport == "phone":  # the figures wrap onto lines of their own, none runs into the next
        boxes = [totals.locator(f".statistics-figures > div:nth-child({n})").bounding_box() for n in range(1, 8)]
        for left, right in itertools.pairwise(boxes):
            assert right["y"] > left["y"] or right["x"] >= left["x"] + left["width"]
    shot("statistics")

    row = page.locator("#result_list tbody tr", has_text="Spring sale")
    expect(row.locator(".field-success_rate")).to_have_text("100.0%")  # nothing failed; 2 still waiting
    expect(page.locator("#result_list tbody tr", has_text="Winter sale").locator(".field-success_rate")).to_have_text(
        "33.3%"
    )
    row.locator(".field-waiting a").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    assert sorted(page.locator("#result_list tbody .field-status").all_inner_texts()) == ["Pending", "Sending"]
    shot("waiting-messages")

    page.go_back()
    row.locator(".mailing-link").click()
    page.wait_for_url(f"**/admin/mailings/mailing/{running.pk}/change/")

    # A failed message, from its mailing's failed count: its text, the provider's answer, no plumbing.
    page.goto(f"{live_server.url}/admin/mailings/mailingstatistics/")
    page.locator("#result_list tbody tr", has_text="Winter sale").locator(".field-failed a").click()
    page.locator("#result_list tbody tr").first.locator("th a, td a").first.click()
    page.wait_for_url(f"**/admin/mailings/message/{refused.pk}/change/**")
    expect(page.locator(".message-text")).to_have_text("Winter sale, ended")
    expect(page.locator(".field-provider_answer")).to_contain_text("HTTP 400: number not served")
    expect(page.locator(".field-attempts")).to_contain_text("2")
    expect(page.locator(".field-outcome")).to_contain_text("failed")
    expect(page.locator("#content")).not_to_contain_text("424242")
    expect(page.locator(".field-next_attempt_at")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
    shot("message")
    page.locator(".field-mailing_link a").click()
    page.wait_for_url(f"**/admin/mailings/mailing/{ended.pk}/change/")
