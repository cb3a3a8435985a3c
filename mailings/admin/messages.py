"""The delivery log: read-only, ten million rows.

Every page it offers is an index walk of at most a page of rows: searched by the start of a
phone, it is ordered by phone (the phone's index); filtered, it is ordered by id (the
indexes of the mailing, the status and the client lead with them); unfiltered, either. A
sort any other way would sort millions of rows, so no other column is sortable, and an
`?o=` that asks for one is answered in the list's default order.
"""

from datetime import UTC

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR, ChangeList
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from mailings import selectors
from mailings.admin.base import ReadOnlyAdmin, parse_id
from mailings.admin.filters import MessageOutcomeFilter
from mailings.models import Message
from mailings.normalizers import phone_prefix
from mailings.outcomes import OUTCOME_STATUSES
from mailings.paginators import EstimatedCountPaginator, KnownCountPaginator

# Query parameters of the list that do not filter it (the admin's own, and ours).
NOT_FILTERS = {SEARCH_VAR, ORDER_VAR, PAGE_VAR, "e", "_popup", "_to_field", "_facets", "_changelist_filters"}


def _known_message_total(params) -> int | None:
    """The list's size from the counts when it is filtered by a mailing and/or statuses only
    (repeated statuses are OR-ed: waiting is pending or sending)."""
    filters = {key: values for key, values in params.lists() if key not in ("p", "o")}
    if not filters or set(filters) - {"status__exact", "mailing__id__exact"}:
        return None
    statuses, raw_mailing_ids = filters.get("status__exact"), filters.get("mailing__id__exact")
    if raw_mailing_ids is not None and len(raw_mailing_ids) > 1:
        return None
    mailing_id = None if raw_mailing_ids is None else parse_id(raw_mailing_ids[0])
    if (statuses is not None and set(statuses) - set(Message.Status.values)) or (
        raw_mailing_ids is not None and mailing_id is None
    ):
        return None
    if statuses is None:
        return selectors.message_total(mailing_id=mailing_id)
    return sum(selectors.message_total(mailing_id=mailing_id, status=status) for status in set(statuses))


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

    list_display = [
        "id", "mailing_id", "phone_number", "status", "delivery_status", "attempts", "sent_at", "short_error",
        "created_at",
    ]  # fmt: skip
    # Mailings are listed from their own table, not by scanning messages.
    list_filter = [("status", MessageOutcomeFilter), "delivery_status", "mailing"]
    paginator = EstimatedCountPaginator
    search_fields = ["phone_number"]  # see get_search_results
    search_help_text = "A phone number or its first digits, as you write it: +7 900 500-00-44, 8 900 500, 900 500."
    raw_id_fields = ["mailing", "client"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per status and per mailing over every message

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

    # The message's own page: what was sent, what the provider answered, and when; not the engine's
    # bookkeeping (the batch token, the lease, a next attempt once there will be none).
    def get_fields(self, request, obj=None):
        fields = ["mailing_link", "client_link", "phone_number", "outcome", "text_sent", "provider_answer"]
        fields += ["delivery_report", "attempts", "created_at", "sent_at"]
        if obj is not None and obj.status == Message.Status.PENDING:
            fields.append("next_attempt_at")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="mailing")
    def mailing_link(self, obj: Message) -> str:
        url = reverse("admin:mailings_mailing_change", args=[obj.mailing_id])
        text = Truncator(obj.mailing.message_text).chars(48)
        return format_html('<a href="{}">#{} {}</a>', url, obj.mailing_id, text)

    @admin.display(description="client")
    def client_link(self, obj: Message) -> str:
        if obj.client_id is None:
            return "deleted (the message keeps the phone it went to)"
        url = reverse("admin:mailings_client_change", args=[obj.client_id])
        return format_html('<a href="{}">#{} {}</a>', url, obj.client_id, obj.client.phone_number)

    @admin.display(description="outcome")
    def outcome(self, obj: Message) -> str:
        outcome = next(name for name, statuses in OUTCOME_STATUSES.items() if obj.status in statuses)
        return outcome if outcome == obj.status else f"{outcome} ({obj.status})"

    @admin.display(description="text")
    def text_sent(self, obj: Message) -> str:
        since = obj.sent_at or obj.created_at
        note = ""
        if obj.mailing.updated_at > since:
            # updated_at moves on any change (its text, its filter, a pause): it tells that the text
            # may differ, not that it does.
            note = format_html(
                '<p class="message-text-note">The mailing was changed on {} UTC, after this message was {}: '
                "this is its text now, which may have been edited since.</p>",
                f"{obj.mailing.updated_at.astimezone(UTC):%d %b %Y %H:%M}",
                "sent" if obj.sent_at else "created",
            )
        return format_html('<div class="message-text">{}</div>{}', obj.mailing.message_text, note)

    @admin.display(description="provider's answer")
    def provider_answer(self, obj: Message) -> str:
        S = Message.Status
        if obj.status == S.SENT:
            return "Accepted: HTTP 200 with code 0 (all a sent message's answer says, so nothing more is kept)."
        if obj.status in (S.EXPIRED, S.CANCELLED):
            return f"Not sent: {obj.last_error or obj.get_status_display().lower()}."
        if not obj.last_error:
            return "None yet: no attempt has ended."
        return obj.last_error if obj.status == S.FAILED else f"Last attempt: {obj.last_error}"

    @admin.display(description="delivery report")
    def delivery_report(self, obj: Message) -> str:
        """What the provider reported later (docs/sending.md: sent is not delivered)."""
        D = Message.DeliveryStatus
        if obj.status != Message.Status.SENT:
            return "None: only a sent message gets one."
        if obj.delivery_status == D.UNKNOWN:
            return "None yet: the provider has not reported on it."
        if obj.delivery_status == D.NO_REPORT:
            return "None in time: unknown for good (no report within DELIVERY_REPORT_TIMEOUT_HOURS of sending)."
        error = f", error {obj.delivery_error}" if obj.delivery_error else ""
        when = f"{obj.reported_at.astimezone(UTC):%d %b %Y %H:%M:%S} UTC" if obj.reported_at else "an unknown time"
        return f"{obj.get_delivery_status_display()}{error}: reported by {obj.provider} at {when}."
