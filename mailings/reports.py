"""The daily statistics e-mail: the mailings processed in the last 24 hours, with their counts.

A mailing was processed in the period if it had started by its end and had not
finished (or been cancelled) before its start. Counts come from the trigger-kept
message counts, as everywhere else; the words and the success rate (sent over sent,
failed and expired) are `outcomes`', as on the admin's statistics page and in the API. The
delivery reports' counts and rate (delivered over delivered, undelivered and no report) are
mailings/delivery_selectors.py's, from the trigger-kept delivery counts.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from mailings import selectors
from mailings.delivery_selectors import DELIVERY_KEYS, delivery_counts_by_mailing, delivery_rate
from mailings.formatting import rate_label
from mailings.models import Mailing
from mailings.outcomes import OUTCOMES, message_outcomes, success_rate

logger = logging.getLogger(__name__)

PERIOD = timedelta(hours=24)


@dataclass(frozen=True)
class MailingLine:
    mailing: Mailing
    total: int
    sent: int
    failed: int
    waiting: int
    expired: int
    cancelled: int
    delivered: int = 0
    undelivered: int = 0
    no_report: int = 0

    @property
    def success_rate(self) -> str:
        return rate_label(success_rate(counts={"sent": self.sent, "failed": self.failed, "expired": self.expired}))

    @property
    def delivery_rate(self) -> str:
        return rate_label(delivery_rate({key: getattr(self, key) for key in DELIVERY_KEYS}))


@dataclass(frozen=True)
class DailyReport:
    since: datetime
    until: datetime
    lines: list[MailingLine] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)

    @property
    def totals(self) -> dict[str, int | str]:
        outcomes = {outcome: self._sum(outcome) for outcome in OUTCOMES}
        return {
            "mailings": len(self.lines),
            "total": self._sum("total"),
            **outcomes,
            "success_rate": rate_label(success_rate(counts=outcomes)),
            "left_out": sum(line.mailing.left_out_do_not_contact for line in self.lines),
            **{key: self._sum(key) for key in DELIVERY_KEYS},
            "delivery_rate": rate_label(delivery_rate({key: self._sum(key) for key in DELIVERY_KEYS})),
        }


def mailings_processed_between(*, since: datetime, until: datetime):
    return (
        Mailing.objects.filter(started_at__isnull=False, started_at__lt=until)
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gte=since))
        .order_by("start_datetime", "id")
    )


def daily_report(*, now: datetime | None = None) -> DailyReport:
    until = now or timezone.now()
    since = until - PERIOD
    mailings = list(mailings_processed_between(since=since, until=until))
    counts = selectors.message_counts_by_mailing(mailing_ids=[m.pk for m in mailings])
    delivery = delivery_counts_by_mailing(mailing_ids=[m.pk for m in mailings])
    lines = []
    for mailing in mailings:
        c = counts[mailing.pk]
        lines.append(
            MailingLine(mailing=mailing, total=sum(c.values()), **message_outcomes(counts=c), **delivery[mailing.pk])
        )
    return DailyReport(since=since, until=until, lines=lines)


def daily_report_send(*, now: datetime | None = None) -> int:
    """E-mail the report to DAILY_REPORT_RECIPIENTS; returns how many e-mails went (0 or 1)."""
    recipients = settings.DAILY_REPORT_RECIPIENTS
    if not recipients:
        logger.info("daily report not sent: DAILY_REPORT_RECIPIENTS is empty")
        return 0
    report = daily_report(now=now)
    context = {"report": report, "totals": report.totals}
    n = report.totals["mailings"]
    subject = (
        f"Mailing statistics, {report.since:%d %b %H:%M} to {report.until:%d %b %Y %H:%M} UTC: "
        f"{n} mailing{'' if n == 1 else 's'}, {report.totals['sent']} sent to date"
    )
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("mailings/email/daily_report.txt", context),
        to=recipients,
    )
    email.attach_alternative(render_to_string("mailings/email/daily_report.html", context), "text/html")
    sent = email.send()
    logger.info("daily report sent", extra={"count": len(recipients)})
    return sent
