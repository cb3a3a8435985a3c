"""A mailing's change page shows its timeline: send rate, estimated finish and the chart."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailings.models import Mailing, Message, MessageMinute
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
M = timedelta(minutes=1)


def _running(**fields) -> Mailing:
    now = timezone.now()
    return MailingFactory(
        status=Mailing.Status.RUNNING, started_at=now - 3 * M, start_datetime=now - timedelta(hours=1),
        end_datetime=now + timedelta(days=1), **fields,
    )  # fmt: skip


class TestTimelineBlock:
    def test_the_change_page_shows_rate_finish_and_chart(self, operator):
        mailing = _running()
        for _ in range(4):
            MessageFactory(mailing=mailing)
        minute = timezone.now().replace(second=0, microsecond=0) - M
        MessageMinute.objects.create(mailing_id=mailing.pk, status=Message.Status.SENT, minute=minute, delta=30)
        MessageMinute.objects.create(mailing_id=mailing.pk, status=Message.Status.FAILED, minute=minute, delta=3)
        page = operator.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
        assert 'id="mailing-timeline"' in page
        assert "Send rate:" in page
        assert "messages a minute" in page
        assert "Estimated finish:" in page
        assert "4 waiting" in page
        assert 'class="timeline-chart"' in page
        assert "30 sent, 3 failed" in page

    def test_a_scheduled_mailing_says_why_there_is_no_finish(self, operator):
        mailing = MailingFactory(start_datetime=timezone.now() + timedelta(hours=1))
        page = operator.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
        assert "Not started yet." in page
        assert 'id="timeline-empty"' in page
