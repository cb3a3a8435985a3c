"""The delivery log: read-only, ten million rows.

Every page it offers is an index walk of at most a page of rows: searched by the start of a
phone, it is ordered by phone (the phone's index); filtered, it is ordered by id (the
indexes of the mailing, the status and the client lead with them); unfiltered, either. A
sort any other way would sort millions of rows, so no other column is sortable, and an
`?o=` that asks for one is answered in the list's default order.
"""

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR, ChangeList

from mailings import selectors
from mailings.admin.base import ReadOnlyAdmin, parse_id
from mailings.models import Message
from mailings.normalizers import phone_prefix
from mailings.paginators import EstimatedCountPaginator, KnownCountPaginator

# Query parameters of the list that do not filter it (the admin's own, and ours).
NOT_FILTERS = {SEARCH_VAR, ORDER_VAR, PAGE_VAR, "e", "_popup", "_to_field", "_facets", "_changelist_filters"}


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


def _searching(request) -> bool:
    return bool(request.GET.get(SEARCH_VAR, "").strip())


class DeliveryLogChangeList(ChangeList):
    """A change list that sorts only by the columns its admin offers for the request; an `?o=` of
    others leaves the admin's own order (`get_ordering`)."""

    def get_ordering_field(self, field_name):
        return super().get_ordering_field(field_name) if field_name in self.sortable_by else None


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The delivery log: read-only."""

    list_display = ["id", "mailing_id", "phone_number", "status", "attempts", "sent_at", "short_error", "created_at"]
    list_filter = ["status", "mailing"]  # mailings listed from their own table, not by scanning messages
    paginator = EstimatedCountPaginator
    search_fields = ["phone_number"]  # see get_search_results
    search_help_text = "A phone number or its first digits, as you write it: +7 900 500-00-44, 8 900 500, 900 500."
    raw_id_fields = ["mailing", "client"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per status and per mailing over every message
    readonly_fields = [field.name for field in Message._meta.fields]

    def get_changelist(self, request, **kwargs):
        return DeliveryLogChangeList

    def get_search_results(self, request, queryset, search_term):
        """The start of a phone, written in any of the ways people write phones: an index range."""
        term = search_term.strip()
        if not term:
            return queryset, False
        prefix = phone_prefix(term)
        if prefix is None:  # a message is found by its phone only
            return queryset.none(), False
        return selectors.phones_starting_with(queryset, prefix), False

    def get_ordering(self, request):
        """Newest first; a search, by phone and each phone's newest first (the phone's index)."""
        return ["phone_number", "-id"] if _searching(request) else ["-id"]

    def get_sortable_by(self, request):
        if _searching(request):
            return ["phone_number"]
        if set(request.GET) - NOT_FILTERS:
            return ["id"]
        return ["id", "phone_number"]

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        """Filtered by status and/or mailing only: the size comes from the message counts."""
        known = _known_message_total(request.GET)
        if known is None:
            return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        return KnownCountPaginator(queryset, per_page, orphans, allow_empty_first_page, count=known)

    @admin.display(description="last error")
    def short_error(self, obj: Message) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")
