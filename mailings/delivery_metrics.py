"""The delivery reports' figures on /metrics (mailings/metrics.py), from the trigger-kept delivery
counts (models.DeliveryCount), never from counting the message table.

`backoffice_messages_delivery{delivery_status}`: every mailing's sent messages by what their
report said (delivered, undelivered, no_report). Per mailing, `backoffice_mailing_delivery` and
`backoffice_mailing_delivery_rate` (delivered / (delivered + undelivered + no report)), for the
mailings whose reports may still come: those not ended, or ended less than
DELIVERY_REPORT_TIMEOUT ago. Older mailings' figures no longer change and would only grow the page.
"""

from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from mailings.delivery_selectors import DELIVERY_KEYS, delivery_counts_by_mailing, delivery_counts_total, delivery_rate
from mailings.models import Mailing


def reporting_mailing_ids() -> list[int]:
    since = timezone.now() - settings.DELIVERY_REPORT_TIMEOUT
    return list(Mailing.objects.filter(end_datetime__gte=since).order_by("id").values_list("id", flat=True))


def delivery_metrics() -> Iterator[Metric]:
    total = GaugeMetricFamily(
        "backoffice_messages_delivery",
        "Sent messages by their delivery report (no_report: none within DELIVERY_REPORT_TIMEOUT_HOURS).",
        labels=["delivery_status"],
    )
    for status, n in delivery_counts_total().items():
        total.add_metric([status], n)
    per_mailing = GaugeMetricFamily(
        "backoffice_mailing_delivery",
        "A mailing's sent messages by their delivery report, for mailings whose reports may still come.",
        labels=["mailing", "delivery_status"],
    )
    rates = GaugeMetricFamily(
        "backoffice_mailing_delivery_rate",
        "delivered / (delivered + undelivered + no report) of a mailing; absent while none is known.",
        labels=["mailing"],
    )
    for mailing_id, counts in delivery_counts_by_mailing(mailing_ids=reporting_mailing_ids()).items():
        for status in DELIVERY_KEYS:
            per_mailing.add_metric([str(mailing_id), status], counts[status])
        rate = delivery_rate(counts)
        if rate is not None:
            rates.add_metric([str(mailing_id)], rate)
    yield from (total, per_mailing, rates)
