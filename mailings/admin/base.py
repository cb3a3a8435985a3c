"""What the mailing, statistics and message pages share: read-only pages, and mailing rows with
their message counts."""

import re

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from mailings import selectors
from mailings.models import Mailing, Message


class ReadOnlyAdmin(admin.ModelAdmin):
    """A page to read: nothing is added, changed or deleted from it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class QuickCheckboxesMixin:
    """A list's row checkboxes written as a string: the admin renders each through a form widget's
    template, about a millisecond a row, a tenth of a page of 100 rows. The same HTML."""

    def action_checkbox(self, obj) -> str:
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME, obj.pk, f"Select this object for an action - {obj}",
        )  # fmt: skip


def parse_id(value: str) -> int | None:
    """A row id from a query string: 1 to 18 digits (a bigint holds any of them), else None."""
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


COUNTED = {
    "n_total": None,
    "n_sent": [Message.Status.SENT],
    "n_failed": [Message.Status.FAILED],
    "n_waiting": list(Message.WAITING_STATUSES),
    "n_expired": [Message.Status.EXPIRED],
    "n_cancelled": [Message.Status.CANCELLED],
}


class MessageCountsMixin:
    """Mailing lists with message counts, read from the trigger-kept rows through subqueries:
    a few index lookups per mailing shown, whatever the mailings' size."""

    class Media:
        css = {"all": ["mailings/admin.css"]}

    def get_queryset(self, request):
        subqueries = {name: selectors.message_count_subquery(statuses=statuses) for name, statuses in COUNTED.items()}
        return super().get_queryset(request).annotate(**subqueries)

    @admin.display(description="progress")
    def progress(self, obj: Mailing) -> str:
        total = obj.n_total or 0
        sent_pct = 100 * obj.n_sent / total if total else 0
        failed_pct = 100 * obj.n_failed / total if total else 0
        # An SVG bar, its lengths in attributes: the Content-Security-Policy refuses style attributes.
        # Written as a browser writes it back, so that live_counts.js replaces only what changed.
        return format_html(
            '<div class="mailing-progress" data-mailing="{}" title="{} sent, {} failed of {}">'
            '<svg class="bar" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true">'
            '<rect class="sent" width="{}" height="1"></rect><rect class="failed" x="{}" width="{}" height="1"></rect>'
            "</svg>"
            '<span class="figure">{} / {}</span></div>',
            obj.pk, obj.n_sent, obj.n_failed, total,
            f"{sent_pct:.1f}", f"{sent_pct:.1f}", f"{failed_pct:.1f}", obj.n_sent, total,
        )  # fmt: skip

    @admin.display(description="failed · waiting · expired · cancelled")
    def counts(self, obj: Mailing) -> str:
        return format_html(
            '<span class="mailing-counts" data-mailing="{}">'
            "{} failed · {} waiting · {} expired · {} cancelled</span>",
            obj.pk, obj.n_failed, obj.n_waiting, obj.n_expired, obj.n_cancelled,
        )  # fmt: skip

    @admin.display(description="text", ordering="message_text")
    def short_text(self, obj: Mailing) -> str:
        return Truncator(obj.message_text).chars(48)

    @admin.display(description="when", ordering="start_datetime")
    def when(self, obj: Mailing) -> str:
        start, end = timezone.localtime(obj.start_datetime), timezone.localtime(obj.end_datetime)
        until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%d %b %H:%M}"
        window = ""
        if obj.send_window_start and obj.send_window_end:
            window = f"{obj.send_window_start:%H:%M}-{obj.send_window_end:%H:%M} client time"
        return format_html(
            '<span class="mailing-when">{} → {}</span>{}',
            f"{start:%d %b %H:%M}", until,
            format_html('<br><span class="mailing-window">{}</span>', window) if window else "",
        )  # fmt: skip

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: Mailing) -> str:
        return format_html('<span class="mailing-status" data-mailing="{}">{}</span>', obj.pk, obj.get_status_display())

    def live_counts(self, request) -> JsonResponse:
        """The progress, counts and status of the mailings on a page, which it refreshes in place."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [id_ for id_ in map(parse_id, request.GET.getlist("id")[:200]) if id_ is not None]
        mailings = self.get_queryset(request).filter(pk__in=ids)
        return JsonResponse({str(m.pk): self.live_parts(m) for m in mailings})

    def live_parts(self, obj: Mailing) -> dict[str, str]:
        return {"progress": self.progress(obj), "counts": self.counts(obj), "status": self.status_label(obj)}
