"""Reading delivery reports' outcome per mailing: delivered, undelivered and no report, from the
rows the delivery count triggers keep (models.DeliveryCount), so a mailing of ten million
messages costs a handful of rows.

The delivery rate is delivered / (delivered + undelivered + no report): of the sent messages whose
delivery is known or will never be, the share the provider reported delivered. Messages still
waiting for a report (within DELIVERY_REPORT_TIMEOUT of sending) are left out.
"""

from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from mailings.models import DeliveryCount, Message

DELIVERY_KEYS = (
    Message.DeliveryStatus.DELIVERED.value,
    Message.DeliveryStatus.UNDELIVERED.value,
    Message.DeliveryStatus.NO_REPORT.value,
)


def _zero() -> dict[str, int]:
    return dict.fromkeys(DELIVERY_KEYS, 0)


def delivery_counts_by_mailing(*, mailing_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per mailing: {"delivered", "undelivered", "no_report"} message counts (zeros for none)."""
    ids = list(mailing_ids)
    counts = {mailing_id: _zero() for mailing_id in ids}
    rows = (
        DeliveryCount.objects.filter(mailing_id__in=ids)
        .values_list("mailing_id", "delivery_status")
        .annotate(n=Sum("delta"))
        .order_by()
    )
    for mailing_id, status, n in rows:
        if status in DELIVERY_KEYS:
            counts[mailing_id][status] = n
    return counts


def delivery_counts_total(*, mailings: QuerySet | None = None) -> dict[str, int]:
    rows = DeliveryCount.objects.all() if mailings is None else DeliveryCount.objects.filter(mailing_id__in=mailings)
    counts = _zero()
    for status, n in rows.values_list("delivery_status").annotate(n=Sum("delta")).order_by():
        if status in DELIVERY_KEYS:
            counts[status] = n
    return counts


def delivery_rate(counts: dict[str, int]) -> float | None:
    """delivered / (delivered + undelivered + no report); None while none of them is known."""
    ended = sum(counts[key] for key in DELIVERY_KEYS)
    return counts[Message.DeliveryStatus.DELIVERED] / ended if ended else None


def delivery_summary(counts: dict[str, int]) -> dict:
    """The counts with their rate, as the API, the admin and the daily e-mail show them."""
    return {**counts, "delivery_rate": delivery_rate(counts)}


def delivery_count_subquery(*, delivery_status: str):
    """A mailing's messages with this delivery status, to annotate a mailing queryset with."""
    rows = DeliveryCount.objects.filter(mailing_id=OuterRef("pk"), delivery_status=delivery_status)
    total = rows.order_by().values("mailing_id").annotate(n=Sum("delta")).values("n")
    return Coalesce(Subquery(total), 0)
