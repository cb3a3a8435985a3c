"""Mailing statistics: one row per mailing, the totals of what the filters select, a daily chart.

Every count links to those messages in the delivery log; the success rate is
`outcomes.success_rate` (sent over sent, failed and expired), as in the API and the daily e-mail.
Clients left out for the do-not-contact list are no messages: shown apart, not in the rate.
Delivered and undelivered are the provider's delivery reports (mailings/delivery_selectors.py).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from mailings import selectors
from mailings.admin.base import MessageCountsMixin, ReadOnlyAdmin
from mailings.admin.charts import daily_bars_svg
from mailings.admin.links import delivery_log_url
from mailings.delivery_selectors import delivery_count_subquery, delivery_counts_total, delivery_rate, delivery_summary
from mailings.formatting import rate_label
from mailings.models import Mailing, MailingStatistics
from mailings.outcomes import message_outcomes, success_rate


def _row_outcomes(obj: Mailing) -> dict[str, int]:
    return {
        "sent": obj.n_sent,
        "failed": obj.n_failed,
        "waiting": obj.n_waiting,
        "expired": obj.n_expired,
        "cancelled": obj.n_cancelled,
    }


def _count_link(obj: Mailing, outcome: str) -> str:
    n = _row_outcomes(obj)[outcome]
    if not n:
        return "0"
    return format_html(
        '<a class="outcome-{}" href="{}">{}</a>', outcome, delivery_log_url(mailing_id=obj.pk, outcome=outcome), n
    )


DELIVERY_COLUMNS = ("delivered", "undelivered", "no_report")


def _delivery_link(obj: Mailing, delivery_status: str) -> str:
    n = getattr(obj, f"n_{delivery_status}")
    if not n:
        return "0"
    url = f"{delivery_log_url(mailing_id=obj.pk)}&delivery_status__exact={delivery_status}"
    return format_html('<a class="delivery-{}" href="{}">{}</a>', delivery_status, url, n)


@admin.register(MailingStatistics)
class MailingStatisticsAdmin(MessageCountsMixin, ReadOnlyAdmin):
    """One row per mailing with its counts and success rate, and the totals of what the filters select."""

    list_display = [
        "mailing_link", "status", "progress", "success_rate", "sent", "parts_sent", "failed", "waiting", "expired",
        "cancelled", "left_out", "delivered", "undelivered", "delivery_rate",
    ]  # fmt: skip
    list_display_links = None
    list_filter = ["status", "start_datetime", "end_datetime"]
    search_fields = ["message_text"]
    ordering = ["-id"]  # newest first
    list_per_page = 50
    show_full_result_count = False
    change_list_template = "admin/mailings/mailingstatistics/change_list.html"

    @admin.display(description="mailing", ordering="id")
    def mailing_link(self, obj: Mailing) -> str:
        url = reverse("admin:mailings_mailing_change", args=[obj.pk])
        return format_html('<a class="mailing-link" href="{}">#{} {}</a>', url, obj.pk, self.short_text(obj))

    @admin.display(description="sent", ordering="n_sent")
    def sent(self, obj: Mailing) -> str:
        return _count_link(obj, "sent")

    @admin.display(description="parts sent", ordering="n_parts_sent")
    def parts_sent(self, obj: Mailing) -> int:
        return obj.n_parts_sent

    def get_queryset(self, request):
        delivery = {f"n_{key}": delivery_count_subquery(delivery_status=key) for key in DELIVERY_COLUMNS}
        return super().get_queryset(request).annotate(n_parts_sent=selectors.parts_sent_subquery(), **delivery)

    @admin.display(description="delivered", ordering="n_delivered")
    def delivered(self, obj: Mailing) -> str:
        return _delivery_link(obj, "delivered")

    @admin.display(description="undelivered", ordering="n_undelivered")
    def undelivered(self, obj: Mailing) -> str:
        return _delivery_link(obj, "undelivered")

    @admin.display(description="delivery rate")
    def delivery_rate(self, obj: Mailing) -> str:
        return rate_label(delivery_rate({key: getattr(obj, f"n_{key}") for key in DELIVERY_COLUMNS}))

    @admin.display(description="failed", ordering="n_failed")
    def failed(self, obj: Mailing) -> str:
        return _count_link(obj, "failed")

    @admin.display(description="waiting", ordering="n_waiting")
    def waiting(self, obj: Mailing) -> str:
        return _count_link(obj, "waiting")

    @admin.display(description="expired", ordering="n_expired")
    def expired(self, obj: Mailing) -> str:
        return _count_link(obj, "expired")

    @admin.display(description="cancelled", ordering="n_cancelled")
    def cancelled(self, obj: Mailing) -> str:
        return _count_link(obj, "cancelled")

    @admin.display(description="left out (do not contact)", ordering="left_out_do_not_contact")
    def left_out(self, obj: Mailing) -> int:
        return obj.left_out_do_not_contact

    @admin.display(description="success rate")
    def success_rate(self, obj: Mailing) -> str:
        return rate_label(success_rate(counts=_row_outcomes(obj)))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # not a redirect: add the totals of what the filters select
            by_status = selectors.message_counts_by_status(mailings=changelist.queryset.values("pk"))
            response.context_data["totals"] = {
                "mailings": changelist.queryset.count(),
                "messages": sum(by_status.values()),
                "by_status": by_status,
                "outcomes": message_outcomes(counts=by_status),
                "success_rate": rate_label(success_rate(counts=by_status)),
                "left_out": selectors.left_out_do_not_contact_total(mailings=changelist.queryset),
                "parts_sent": selectors.parts_sent_total(mailings=changelist.queryset.values("pk")),
                "delivery": delivery_summary(delivery_counts_total(mailings=changelist.queryset.values("pk"))),
            }
            response.context_data["totals"]["delivery"]["rate_label"] = rate_label(
                response.context_data["totals"]["delivery"]["delivery_rate"]
            )
            daily = selectors.message_daily_sent_failed(mailings=changelist.queryset.values("pk"))
            response.context_data["daily_chart"] = daily_bars_svg(daily)
            response.context_data["daily_totals"] = (sum(d[1] for d in daily), sum(d[2] for d in daily))
        return response
