"""Per-minute sent/failed counts kept by triggers, and what a mailing's page makes of them:
the chart's buckets, the send rate and the estimated finish."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailings import timeline
from mailings.admin.timeline import mailing_timeline_context, timeline_axis, timeline_bars_svg
from mailings.counts import fold_message_counts
from mailings.models import Mailing, Message, MessageMinute
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
S = Message.Status
M = timedelta(minutes=1)
NOW = datetime(2026, 11, 29, 12, 30, 40, tzinfo=UTC)


def _minutes(mailing: Mailing) -> dict[tuple[datetime, str], int]:
    rows = MessageMinute.objects.filter(mailing_id=mailing.pk).values_list("minute", "status").annotate(n=Sum("delta"))
    return {(minute, status): n for minute, status, n in rows.order_by() if n}


def _put(mailing: Mailing, minute: datetime, *, sent: int = 0, failed: int = 0) -> None:
    for status, n in ((S.SENT, sent), (S.FAILED, failed)):
        if n:
            MessageMinute.objects.create(mailing_id=mailing.pk, status=status, minute=minute, delta=n)


def _running(**fields) -> Mailing:
    fields.setdefault("started_at", NOW - 10 * M)
    return MailingFactory(
        status=Mailing.Status.RUNNING, start_datetime=NOW - timedelta(hours=1), end_datetime=NOW + timedelta(days=1),
        **fields,
    )  # fmt: skip


class TestTriggers:
    def test_a_message_becoming_sent_lands_in_its_minute(self):
        mailing = MailingFactory()
        messages = [MessageFactory(mailing=mailing) for _ in range(4)]
        ids = [m.pk for m in messages]
        assert _minutes(mailing) == {}  # pending is not counted by the minute
        before = timezone.now().replace(second=0, microsecond=0)
        Message.objects.filter(id__in=ids[:3]).update(status=S.SENDING)
        Message.objects.filter(id__in=ids[:2]).update(status=S.SENT)
        Message.objects.filter(id__in=ids[2:3]).update(status=S.FAILED)
        Message.objects.filter(id__in=ids).update(attempts=1)  # no status change: nothing
        MessageFactory(mailing=mailing, status=S.SENT)  # inserted as sent
        after = timezone.now().replace(second=0, microsecond=0)
        kept = _minutes(mailing)
        assert sum(n for (_, s), n in kept.items() if s == S.SENT) == 3
        assert sum(n for (_, s), n in kept.items() if s == S.FAILED) == 1
        assert all(before <= minute <= after and minute.second == 0 for minute, _ in kept)
        assert MessageMinute.objects.exclude(status__in=[S.SENT, S.FAILED]).count() == 0

    def test_a_message_leaving_sent_is_taken_back(self):
        mailing = MailingFactory()
        message = MessageFactory(mailing=mailing, status=S.SENT)
        Message.objects.filter(pk=message.pk).update(status=S.PENDING)
        assert _minutes(mailing) == {}

    def test_the_minute_is_utc_and_whole(self):
        mailing = MailingFactory()
        MessageFactory(mailing=mailing, status=S.FAILED)
        (minute, status), n = next(iter(_minutes(mailing).items()))
        now = timezone.now()
        assert status == S.FAILED
        assert n == 1
        assert minute.utcoffset() == timedelta(0)
        assert timedelta(0) <= now - minute < timedelta(minutes=2)


class TestFold:
    def test_it_keeps_every_minute_sum(self):
        mailing = MailingFactory()
        for _ in range(5):
            MessageFactory(mailing=mailing, status=S.SENT)
        _put(mailing, NOW, sent=2)
        _put(mailing, NOW, sent=3, failed=1)
        before = _minutes(mailing)
        rows = MessageMinute.objects.count()
        assert fold_message_counts() > 0
        assert MessageMinute.objects.count() < rows
        assert MessageMinute.objects.filter(mailing_id=mailing.pk, minute=NOW, status=S.SENT).count() == 1
        assert _minutes(mailing) == before
        assert fold_message_counts() == 0


class TestPerMinute:
    def test_empty_minutes_are_zeros_over_the_life(self):
        mailing = _running(started_at=NOW - 5 * M)
        _put(mailing, NOW.replace(second=0) - 4 * M, sent=3, failed=1)
        _put(mailing, NOW.replace(second=0) - 1 * M, sent=2)
        result = timeline.mailing_sent_failed_per_minute(mailing=mailing, now=NOW)
        start = NOW.replace(second=0) - 5 * M
        assert result["bucket_minutes"] == 1
        assert result["series"] == [
            (start, 0, 0), (start + M, 3, 1), (start + 2 * M, 0, 0), (start + 3 * M, 0, 0),
            (start + 4 * M, 2, 0), (start + 5 * M, 0, 0),
        ]  # fmt: skip
        assert result["charted"] == 6

    def test_a_long_life_gets_wider_aligned_buckets(self):
        started = datetime(2026, 11, 29, 9, 7, tzinfo=UTC)  # 3 h 23 min before NOW: 204 minutes
        mailing = _running(started_at=started)
        _put(mailing, started, sent=1)
        _put(mailing, started + M, sent=1, failed=2)  # 09:08: the next 2-minute bucket
        _put(mailing, NOW.replace(second=0), sent=5)
        result = timeline.mailing_sent_failed_per_minute(mailing=mailing, now=NOW)
        series = result["series"]
        assert result["bucket_minutes"] == 2
        assert len(series) <= 120
        assert series[0] == (datetime(2026, 11, 29, 9, 6, tzinfo=UTC), 1, 0)
        assert series[1] == (datetime(2026, 11, 29, 9, 8, tzinfo=UTC), 1, 2)
        assert series[-1] == (datetime(2026, 11, 29, 12, 30, tzinfo=UTC), 5, 0)
        assert sum(s for _, s, _ in series) == 7

    @pytest.mark.parametrize(
        ("hours", "width"), [(1, 1), (2, 1), (3, 2), (9, 5), (24, 15), (24 * 5, 60), (24 * 30, 360), (24 * 400, 5760)]
    )
    def test_at_most_120_bars(self, hours, width):
        mailing = _running(started_at=NOW - timedelta(hours=hours) + M)
        result = timeline.mailing_sent_failed_per_minute(mailing=mailing, now=NOW)
        assert result["bucket_minutes"] == width
        assert len(result["series"]) <= 121  # alignment to the bucket may add one at the edge

    def test_a_finished_mailing_ends_at_its_finish(self):
        mailing = _running(started_at=NOW - 30 * M)
        Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.FINISHED, finished_at=NOW - 20 * M)
        mailing.refresh_from_db()
        _put(mailing, NOW.replace(second=0) - 25 * M, sent=1)
        series = timeline.mailing_sent_failed_per_minute(mailing=mailing, now=NOW)["series"]
        assert series[-1][0] == NOW.replace(second=0) - 20 * M

    def test_nothing_yet_is_an_empty_series(self):
        result = timeline.mailing_sent_failed_per_minute(mailing=MailingFactory(), now=NOW)
        assert result == {"bucket_minutes": 1, "series": [], "charted": 0}


class TestRateAndEstimate:
    def test_the_rate_is_the_last_five_minutes_and_this_one(self):
        mailing = _running()
        minute = NOW.replace(second=0)
        _put(mailing, minute - 6 * M, sent=1000)  # outside the window
        _put(mailing, minute - 5 * M, sent=100, failed=10)
        _put(mailing, minute, sent=200)
        # 310 over 5 minutes 40 seconds
        assert timeline.mailing_send_rate(mailing=mailing, now=NOW) == pytest.approx(310 / (5 + 40 / 60))

    def test_a_mailing_started_within_the_window_counts_from_its_start(self):
        mailing = _running(started_at=NOW - 2 * M)  # 12:28:40, its minute 12:28
        _put(mailing, NOW.replace(second=0) - M, sent=160)
        assert timeline.mailing_send_rate(mailing=mailing, now=NOW) == pytest.approx(160 / (2 + 40 / 60))

    def _waiting(self, mailing: Mailing, n: int) -> None:
        for _ in range(n):
            MessageFactory(mailing=mailing)

    def test_running_with_a_rate_finishes_at_waiting_over_rate(self):
        mailing = _running()
        self._waiting(mailing, 6)
        _put(mailing, NOW.replace(second=0) - 3 * M, sent=34)  # 34 over 5 min 40 s: 6 a minute
        estimate = timeline.mailing_finish_estimate(mailing=mailing, now=NOW)
        assert estimate["waiting"] == 6
        assert estimate["rate"] == pytest.approx(6)
        assert estimate["finish"] == NOW + M
        assert estimate["reason"] is None
        assert estimate["left_at_end"] == 0

    def test_too_slow_for_the_end_says_how_many_are_left(self):
        mailing = _running()
        Mailing.objects.filter(pk=mailing.pk).update(end_datetime=NOW + 2 * M)
        mailing.refresh_from_db()
        self._waiting(mailing, 10)
        _put(mailing, NOW.replace(second=0), sent=17)  # 3 a minute
        estimate = timeline.mailing_finish_estimate(mailing=mailing, now=NOW)
        assert estimate["finish"] == NOW + 2 * M
        assert estimate["left_at_end"] == 4

    @pytest.mark.parametrize(
        ("status", "words"),
        [
            (Mailing.Status.SCHEDULED, "Not started"),
            (Mailing.Status.PAUSED, "Paused"),
            (Mailing.Status.FINISHED, "Finished: nothing more"),
            (Mailing.Status.CANCELLED, "Cancelled: nothing more"),
        ],
    )
    def test_no_finish_when_not_running(self, status, words):
        mailing = _running()
        Mailing.objects.filter(pk=mailing.pk).update(status=status)
        mailing.refresh_from_db()
        self._waiting(mailing, 2)
        _put(mailing, NOW.replace(second=0), sent=50)
        estimate = timeline.mailing_finish_estimate(mailing=mailing, now=NOW)
        assert estimate["finish"] is None
        assert estimate["reason"].startswith(words)

    def test_no_finish_past_the_end_nor_without_sending_nor_with_nothing_waiting(self):
        mailing = _running()
        self._waiting(mailing, 3)
        assert (
            "Nothing sent in the last 5 minutes" in timeline.mailing_finish_estimate(mailing=mailing, now=NOW)["reason"]
        )
        _put(mailing, NOW.replace(second=0), sent=50)
        Mailing.objects.filter(pk=mailing.pk).update(end_datetime=NOW - M, start_datetime=NOW - 2 * M)
        mailing.refresh_from_db()
        assert "end has passed" in timeline.mailing_finish_estimate(mailing=mailing, now=NOW)["reason"]
        idle = _running()
        _put(idle, NOW.replace(second=0), sent=50)
        estimate = timeline.mailing_finish_estimate(mailing=idle, now=NOW)
        assert estimate["finish"] is None
        assert estimate["reason"] == "Nothing is waiting."


class TestPage:
    def test_the_context_never_reads_the_messages(self):
        mailing = _running()
        MessageFactory(mailing=mailing)
        _put(mailing, NOW.replace(second=0), sent=5)
        with CaptureQueriesContext(connection) as queries:
            context = mailing_timeline_context(mailing=mailing, now=NOW)
        assert context["sent"] == 5
        assert context["chart"]
        message_table = connection.ops.quote_name(Message._meta.db_table)
        assert not [q["sql"] for q in queries if message_table in q["sql"]]

    def test_sends_before_the_minutes_began_are_said_apart(self):
        mailing = _running()
        MessageFactory(mailing=mailing, status=S.SENT)  # counted by the minute too
        MessageMinute.objects.all().delete()  # as if sent before migration 0019
        MessageFactory(mailing=mailing, status=S.SENT)
        context = mailing_timeline_context(mailing=mailing)
        assert context["uncharted"] == 1

    def test_the_svg_has_a_bar_and_a_title_per_value_and_no_style(self):
        start = NOW.replace(second=0)
        svg = timeline_bars_svg([(start, 3, 0), (start + M, 0, 2)], bucket_minutes=1)
        assert svg.count("<rect") == 2
        assert "2026-11-29 12:30 UTC, that minute: 3 sent" in svg
        assert "2026-11-29 12:31 UTC, that minute: 2 failed" in svg
        assert "style" not in svg
        assert "<script" not in svg

    def test_the_axis_is_the_left_edge_the_middle_and_the_right_edge(self):
        start = NOW.replace(second=0)
        series = [(start + 5 * M * n, 0, 0) for n in range(4)]
        assert timeline_axis(series, bucket_minutes=5) == [start, start + 10 * M, start + 20 * M]
        assert timeline_axis([], bucket_minutes=1) == []


class TestFoldWindow:
    def test_minutes_older_than_a_day_are_left_as_they_are(self):
        mailing = MailingFactory()
        old = timezone.now().replace(second=0, microsecond=0) - timedelta(days=2)
        _put(mailing, old, sent=2)
        _put(mailing, old, sent=3)
        recent = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
        _put(mailing, recent, sent=4)
        _put(mailing, recent, sent=5)
        assert fold_message_counts() == 1
        assert MessageMinute.objects.filter(minute=old).count() == 2
        assert MessageMinute.objects.get(minute=recent).delta == 9
