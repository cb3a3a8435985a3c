"""The delivery log: read-only, ten million rows."""

from django.contrib import admin

from mailings import selectors
from mailings.admin.base import ReadOnlyAdmin, parse_id
from mailings.models import Message
from mailings.paginators import EstimatedCountPaginator, KnownCountPaginator


def _known_message_total(params) -> int | None:
    if any(len(values) > 1 for _, values in params.lists()):  # repeated filters are OR-ed: not what the counts know
        return None
    filters = {key: value for key, value in params.items() if key not in ("p", "o")}
    if not filters or set(filters) - {"status__exact", "mailing__id__exact"}:
        return None
    status, raw_mailing_id = filters.get("status__exact"), filters.get("mailing__id__exact")
    mailing_id = None if raw_mailing_id is None else parse_id(raw_mailing_id)
    if (status is not None and status not in Message.Status.values) or (
        raw_mailing_id is not None and mailing_id is None
    ):
        return None
    return selectors.message_total(mailing_id=mailing_id, status=status)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The delivery log: read-only."""

    list_display = ["id", "mailing_id", "phone_number", "status", "attempts", "sent_at", "short_error", "created_at"]
    list_filter = ["status", "mailing"]  # mailings listed from their own table, not by scanning messages
    paginator = EstimatedCountPaginator
    search_fields = ["^phone_number"]
    raw_id_fields = ["mailing", "client"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per status and per mailing over every message
    readonly_fields = [field.name for field in Message._meta.fields]

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        """Filtered by status and/or mailing only: the size comes from the message counts."""
        known = _known_message_total(request.GET)
        if known is None:
            return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        return KnownCountPaginator(queryset, per_page, orphans, allow_empty_first_page, count=known)

    @admin.display(description="last error")
    def short_error(self, obj: Message) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")
