"""A running mailing's page in Chromium: its send rate, estimated finish and per-minute chart,
at a laptop's width and a phone's."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mailings.models import Mailing, Message, MessageMinute
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_a_running_mailing_shows_its_rate_finish_and_chart(live_server, page, shot, operator_login, width, height):
    now = timezone.now()
    mailing = MailingFactory(
        status=Mailing.Status.RUNNING, started_at=now - timedelta(minutes=30),
        start_datetime=now - timedelta(hours=1), end_datetime=now + timedelta(days=1),
    )  # fmt: skip
    messages = [MessageFactory(mailing=mailing) for _ in range(8)]
    # Three become sent and one failed now, through the triggers; earlier minutes as they kept them.
    Message.objects.filter(id__in=[m.pk for m in messages[:3]]).update(status=Message.Status.SENT)
    Message.objects.filter(id=messages[3].pk).update(status=Message.Status.FAILED)
    minute = now.replace(second=0, microsecond=0)
    for ago, sent in ((20, 40), (12, 25), (3, 60)):
        MessageMinute.objects.create(
            mailing_id=mailing.pk, status="sent", minute=minute - timedelta(minutes=ago), delta=sent
        )
    page.set_viewport_size({"width": width, "height": height})
    operator_login()
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/")

    block = page.locator("#mailing-timeline")
    expect(block).to_be_visible()
    expect(page.locator("#timeline-rate")).to_contain_text("messages a minute")
    rate = float(page.locator("#timeline-rate").inner_text().split("Send rate:")[1].split()[0])
    assert rate > 0
    expect(page.locator("#timeline-eta")).to_contain_text("4 waiting")
    chart = page.locator("#timeline-chart svg")
    expect(chart).to_be_visible()
    expect(page.locator("#timeline-chart figcaption")).to_contain_text("128 sent, 1 failed")
    assert chart.locator("rect").count() == 5  # 4 minutes with sends, one of them with a failure too
    box = chart.bounding_box()
    assert box["width"] > 0.5 * min(width, 900)
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width  # no sideways scrolling for the chart
    block.scroll_into_view_if_needed()
    shot(f"timeline-{width}")
