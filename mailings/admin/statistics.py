"""Mailing statistics: one row per mailing, the totals of what the filters select, a daily chart."""

from django.contrib import admin

from mailings import selectors
from mailings.admin.base import MessageCountsMixin, ReadOnlyAdmin
from mailings.admin.charts import daily_bars_svg
from mailings.formatting import percent
from mailings.models import Mailing, MailingStatistics


@admin.register(MailingStatistics)
class MailingStatisticsAdmin(MessageCountsMixin, ReadOnlyAdmin):
    """One row per mailing with its counts and success rate, and the totals of what the filters select."""

    list_display = ["short_text", "status", "progress", "success_rate", "sent", "failed", "waiting", "dropped"]
    list_display_links = None
    list_filter = ["status", "start_datetime", "end_datetime"]
    search_fields = ["message_text"]
    ordering = ["-id"]  # newest first
    list_per_page = 50
    show_full_result_count = False
    change_list_template = "admin/mailings/mailingstatistics/change_list.html"

    @admin.display(description="sent", ordering="n_sent")
    def sent(self, obj: Mailing) -> int:
        return obj.n_sent

    @admin.display(description="failed", ordering="n_failed")
    def failed(self, obj: Mailing) -> int:
        return obj.n_failed

    @admin.display(description="waiting", ordering="n_waiting")
    def waiting(self, obj: Mailing) -> int:
        return obj.n_waiting

    @admin.display(description="dropped", ordering="n_dropped")
    def dropped(self, obj: Mailing) -> int:
        return obj.n_dropped

    @admin.display(description="success rate")
    def success_rate(self, obj: Mailing) -> str:
        return percent(obj.n_sent, obj.n_total)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # not a redirect: add the totals of what the filters select
            totals = selectors.message_counts_by_status(mailings=changelist.queryset.values("pk"))
            total = sum(totals.values())
            response.context_data["totals"] = {
                "mailings": changelist.queryset.count(),
                "messages": total,
                "by_status": totals,
                "success_rate": percent(totals["sent"], total),
            }
            daily = selectors.message_daily_sent_failed(mailings=changelist.queryset.values("pk"))
            response.context_data["daily_chart"] = daily_bars_svg(daily)
            response.context_data["daily_totals"] = (sum(d[1] for d in daily), sum(d[2] for d in daily))
        return response
