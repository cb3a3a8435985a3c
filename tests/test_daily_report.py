"""The daily statistics e-mail, through Django's locmem mail backend."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from mailings import tasks
from mailings.models import Mailing, Message
from mailings.reports import daily_report, daily_report_send
from tests.factories import MailingFactory, MessageFactory

S = Message.Status


def _mailing_with(text: str, counts: dict[str, int], **fields) -> Mailing:
    mailing = MailingFactory(message_text=text, **fields)
    for status, n in counts.items():
        for _ in range(n):
            MessageFactory(mailing=mailing, status=status)
    return mailing


@pytest.fixture
def recipients(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DAILY_REPORT_RECIPIENTS = ["ops@example.com", "boss@example.com"]
    return settings.DAILY_REPORT_RECIPIENTS


@pytest.mark.django_db
class TestDailyReport:
    @pytest.fixture
    def day(self):
        now = timezone.now()
        running = _mailing_with(
            "Spring sale <b>today</b>", {S.SENT: 6, S.FAILED: 2, S.PENDING: 1, S.EXPIRED: 1, S.CANCELLED: 1},
            status=Mailing.Status.RUNNING, started_at=now - timedelta(hours=3), left_out_do_not_contact=7,
        )  # fmt: skip
        finished = _mailing_with(
            "Night delivery notice", {S.SENT: 3, S.FAILED: 1},
            status=Mailing.Status.FINISHED, started_at=now - timedelta(hours=30), finished_at=now - timedelta(hours=5),
        )  # fmt: skip
        _mailing_with(
            "Old news", {S.SENT: 50},
            status=Mailing.Status.FINISHED, started_at=now - timedelta(days=3), finished_at=now - timedelta(hours=25),
        )  # fmt: skip
        _mailing_with("Not yet", {}, status=Mailing.Status.SCHEDULED, start_datetime=now + timedelta(days=1))
        return now, running, finished

    def test_it_covers_the_mailings_processed_in_the_last_24_hours(self, day):
        now, running, finished = day
        report = daily_report(now=now)
        assert [line.mailing for line in report.lines] == sorted([running, finished], key=lambda m: m.start_datetime)
        line = next(line for line in report.lines if line.mailing == running)
        assert (line.total, line.sent, line.failed, line.waiting, line.expired, line.cancelled) == (11, 6, 2, 1, 1, 1)
        assert line.success_rate == "66.6%"  # 6 sent of 9 ended; waiting and cancelled left out, rounded down
        assert report.totals == {
            "mailings": 2, "total": 15, "sent": 9, "failed": 3, "waiting": 1, "expired": 1, "cancelled": 1,
            "success_rate": "69.2%", "left_out": 7,
            "delivered": 0, "undelivered": 0, "no_report": 0, "delivery_rate": "—",
        }  # fmt: skip

    def test_it_emails_text_and_html_to_the_recipients(self, day, recipients):
        now, running, finished = day
        assert daily_report_send(now=now) == 1
        assert len(mail.outbox) == 1
        email = mail.outbox[0]
        assert email.to == recipients
        assert "2 mailings, 9 sent to date" in email.subject
        text = email.body
        assert f"Mailing #{running.pk} (running): Spring sale <b>today</b>" in text
        assert (
            "messages 11, sent 6, failed 2, waiting 1, expired 1, cancelled 1, success rate 66.6%, "
            "left out (do not contact) 7" in text
        )
        assert "Left out for the do-not-contact list: 7." in text
        assert f"Mailing #{finished.pk} (finished): Night delivery notice" in text
        assert "messages 4, sent 3, failed 1, waiting 0, expired 0, cancelled 0, success rate 75.0%" in text
        assert "2 mailings processed in these 24 hours; their messages to date: 15, 9 sent, 3 failed" in text
        assert "Success rate 69.2% (sent out of sent, failed and expired)" in text
        assert "Old news" not in text
        assert "Not yet" not in text

        html, mimetype = email.alternatives[0]
        assert mimetype == "text/html"
        assert "Spring sale &lt;b&gt;today&lt;/b&gt;" in html  # escaped in HTML
        assert f"<td>#{running.pk}</td>" in html
        assert '<td style="text-align: right;">66.6%</td>' in html
        assert "<strong>69.2%</strong>" in html
        assert '<td style="text-align: right;">7</td>' in html  # the running mailing's left out
        assert "Old news" not in html

    def test_a_quiet_day_is_reported_too(self, recipients):
        assert daily_report_send() == 1
        assert "No mailing was processed in these 24 hours." in mail.outbox[0].body
        assert "0 mailings, 0 sent to date" in mail.outbox[0].subject

    def test_without_recipients_it_logs_and_sends_nothing(self, settings, caplog):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.DAILY_REPORT_RECIPIENTS = []
        with caplog.at_level(logging.INFO, logger="mailings.reports"):
            assert tasks.send_daily_report() == 0
        assert mail.outbox == []
        assert "DAILY_REPORT_RECIPIENTS is empty" in caplog.text

    def test_the_task_sends_it(self, recipients):
        assert tasks.send_daily_report() == 1
        assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_migration_schedules_it_daily_at_seven_editable_in_the_admin(admin_client):
    task = PeriodicTask.objects.get(name="Daily statistics email")
    assert task.task == "mailings.tasks.send_daily_report"
    assert task.enabled
    assert task.interval is None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "7", "*")
    assert str(task.crontab.timezone) == "UTC"
    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert page.status_code == 200
    assert "mailings.tasks.send_daily_report" in page.content.decode()
