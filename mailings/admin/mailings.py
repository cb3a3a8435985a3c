"""Mailings: their list with live progress, the form with its audience preview, the actions that
control them, and a test message to one phone."""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms import Script
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from mailings import selectors, services
from mailings.admin.base import MessageCountsMixin, QuickCheckboxesMixin
from mailings.admin.composer import text_parts_answer
from mailings.admin.deleting import MailingDeleteMixin
from mailings.admin.panel import MailingPanelMixin
from mailings.admin.timeline import mailing_timeline_context
from mailings.errors import ConflictError, LimitReached
from mailings.formatting import moment_said, zone_said
from mailings.forms import MailingForm, TestMessageForm
from mailings.models import Mailing
from mailings.normalizers import OPERATOR_CODE_RE

WINDOW_HELP = {
    "send_window_start": "Client's local time: messages go out from this time of day on each client's clock "
    "(optional).",
    "send_window_end": "Client's local time: after this time of day messages wait for the next day; may be before "
    "the start (overnight).",
}
# The "Who" fieldset of a mailing that has started (services.mailing_update says how).
STARTED_FILTER_HELP = (
    "Empty means any. This mailing has started: a new filter takes its audience again at the next "
    "tick. Clients who now match get a message; waiting messages to clients who no longer match are "
    "cancelled; messages already sent stay."
)
# Start and end where they cannot change: shown with their zone (a read-only field has no help line).
SAID = {"start_datetime": "start_said", "end_datetime": "end_said"}
ENGINE_FIELDS = ["status", "started_at", "finished_at", "created_at", "updated_at"]


@admin.register(Mailing)
class MailingAdmin(MailingPanelMixin, MailingDeleteMixin, QuickCheckboxesMixin, MessageCountsMixin, admin.ModelAdmin):
    list_display = [
        "short_text",
        "status_label",
        "when",
        "audience",
        "progress_and_counts",
    ]
    list_display_links = ["short_text"]
    list_filter = ["status", "start_datetime", "end_datetime"]
    # Text and tag by their words, the operator code whole; an all-digit term finds that id too
    # (get_search_results). A few thousand mailings: no index needed for the words.
    search_fields = ["message_text", "filter_tag", "=filter_operator_code"]
    search_help_text = "Text, tag, operator code or id."
    ordering = ["-id"]  # newest first
    exclude = ["audience_outdated", "left_out_do_not_contact"]  # the engine's, never a form's
    actions = ["launch_now", "pause", "resume", "cancel", "retry_failed", "test_message", "clone", "delete_selected"]
    list_per_page = 50

    form = MailingForm
    change_form_template = "admin/mailings/mailing/change_form.html"
    change_list_template = "admin/mailings/mailing/change_list.html"
    fieldsets = [
        (None, {"fields": ["message_text"]}),
        ("When", {"fields": ["start_datetime", "end_datetime", ("send_window_start", "send_window_end")]}),
        ("Who", {"fields": [("filter_operator_code", "filter_tag")], "description": "Empty means any."}),
        ("State", {"fields": [*ENGINE_FIELDS]}),
    ]

    def get_fieldsets(self, request, obj: Mailing | None = None):
        """A new mailing has no state yet; start and end, where they cannot change, are said with
        their zone; a started mailing's filter still changes, and says what that does."""
        if obj is None:
            return self.fieldsets[:3]
        fixed = set(SAID)
        if self.has_change_permission(request, obj):
            fixed &= set(self.get_readonly_fields(request, obj))
        when = [SAID[name] if name in fixed else name for name in SAID]
        fieldsets = [self.fieldsets[0], ("When", {"fields": [*when, *self.fieldsets[1][1]["fields"][2:]]})]
        who = self.fieldsets[2][1]
        if obj.started_at and obj.status not in Mailing.CLOSED_STATUSES:
            who = {**who, "description": STARTED_FILTER_HELP}
        return [*fieldsets, ("Who", who), *self.fieldsets[3:]]

    @admin.display(description="start datetime")
    def start_said(self, obj: Mailing) -> str:
        return moment_said(obj.start_datetime)

    @admin.display(description="end datetime")
    def end_said(self, obj: Mailing) -> str:
        return moment_said(obj.end_datetime)

    class Media(MessageCountsMixin.Media):
        # Deferred: they run once the page is read, and each does nothing on a page without its element.
        js = [
            Script("mailings/admin/live_counts.js", defer=True),
            Script("mailings/admin/audience_preview.js", defer=True),
            Script("mailings/admin/text_parts.js", defer=True),
        ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """Start and end say their zone; the window fields are read on each client's clock, so they
        are plain time boxes: the admin's clock widget would add "You are N hours ahead of server
        time", which is about the server's zone, not the client's."""
        if db_field.name in ("send_window_start", "send_window_end"):
            kwargs["widget"] = forms.TimeInput(attrs={"type": "time", "class": "client-local-time"}, format="%H:%M")
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("start_datetime", "end_datetime"):
            zone = zone_said(timezone.get_current_timezone_name(), at=timezone.now())
            field.help_text = f"{db_field.help_text} {zone}."
        elif db_field.name in WINDOW_HELP:
            field.help_text = WINDOW_HELP[db_field.name]
        return field

    def get_search_results(self, request, queryset, search_term: str):
        """An all-digit term (or #12) is also the mailing with that id: one primary key lookup."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().removeprefix("#")
        if term.isdigit() and int(term) < 2**63:
            found |= queryset.filter(pk=int(term))
        return found, may_have_duplicates

    def get_urls(self):
        preview = path(
            "audience-preview/",
            self.admin_site.admin_view(self.audience_preview),
            name="mailings_mailing_audience_preview",
        )
        test_message = path(
            "<path:object_id>/test-message/",
            self.admin_site.admin_view(self.test_message_view),
            name="mailings_mailing_test_message",
        )
        live = path("live-counts/", self.admin_site.admin_view(self.live_counts), name="mailings_mailing_live_counts")
        parts = path("text-parts/", self.admin_site.admin_view(self.text_parts), name="mailings_mailing_text_parts")
        return [preview, test_message, live, parts, *self.panel_urls(), *super().get_urls()]

    def text_parts(self, request) -> JsonResponse:
        """What a text costs in SMS parts: the change form asks as the operator types (POST: a
        text of 10,000 characters does not fit in a URL)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return JsonResponse(text_parts_answer(request.POST, limit=settings.MAILING_MAX_PARTS))

    def test_message_view(self, request, object_id: str):
        """Send the mailing's text to one phone now, and say what the provider answered."""
        mailing = self.get_object(request, object_id)  # None for a missing or malformed id
        if not self.has_test_message_permission(request, mailing):  # before 404: no existence told
            raise PermissionDenied
        if mailing is None:
            raise Http404(f"No mailing with id {object_id!r}.")
        form = TestMessageForm(request.POST or None)
        refused = None
        if request.method == "POST" and form.is_valid():
            try:
                return self._send_test_message(request, mailing, form.cleaned_data["phone_number"])
            except LimitReached as exc:  # nothing sent: the form again, the reason above it
                refused = exc
                self.message_user(request, str(exc), messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "title": "Send a test message",
            "opts": self.opts,
            "original": mailing,
            "form": form,
            "test_messages_per_hour": settings.TEST_MESSAGES_PER_HOUR,
        }
        response = TemplateResponse(request, "admin/mailings/mailing/test_message.html", context)
        if refused is not None:
            response.status_code = 429
            response["Retry-After"] = str(refused.retry_after)
        return response

    def _send_test_message(self, request, mailing: Mailing, phone: str) -> HttpResponseRedirect:
        result = services.mailing_test_send(mailing=mailing, phone=phone, user=request.user)  # in its History
        self.message_user(request, result.report, messages.SUCCESS if result.sent else messages.ERROR)
        return HttpResponseRedirect(reverse("admin:mailings_mailing_change", args=[mailing.pk]))

    def audience_preview(self, request) -> JsonResponse:
        """How many clients a filter matches now: the change form asks as the operator types."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        operator_code = request.GET.get("filter_operator_code", "").strip()
        tag = request.GET.get("filter_tag", "").strip()
        if operator_code and not OPERATOR_CODE_RE.match(operator_code):
            return JsonResponse({"error": "The operator code is 3 digits, such as 913."}, status=400)
        count = selectors.client_audience_count(operator_code=operator_code, tag=tag)
        return JsonResponse({"count": count})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        mailing = self.get_object(request, object_id)
        timeline = mailing_timeline_context(mailing=mailing) if mailing else None
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "timeline": timeline})

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "processing_task": selectors.periodic_task_processing(),
            "live_counts_every": settings.ADMIN_LIVE_COUNTS_SECONDS,
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="audience")
    def audience(self, obj: Mailing) -> str:
        parts = [f"code {obj.filter_operator_code}"] * bool(obj.filter_operator_code)
        parts += [f"tag {obj.filter_tag}"] * bool(obj.filter_tag)
        return format_html("{}{}", ", ".join(parts) or "all clients", self.audience_now(obj))

    def audience_now(self, obj: Mailing) -> str:
        """Before it starts (its messages are not made yet): how many clients it would reach now."""
        text = ""
        if obj.status in (Mailing.Status.SCHEDULED, Mailing.Status.PAUSED) and not getattr(obj, "n_total", 0):
            count = selectors.client_audience_count_recent(operator_code=obj.filter_operator_code, tag=obj.filter_tag)
            text = f"{count:,} client{pluralize(count)} now"
        return format_html('<div class="audience-now" data-mailing="{}">{}</div>', obj.pk, text)

    def live_parts(self, obj: Mailing) -> dict[str, str]:
        return {**super().live_parts(obj), "audience": self.audience_now(obj)}

    @admin.display(description="progress")
    def progress_and_counts(self, obj: Mailing) -> str:
        url = reverse("admin:mailings_message_changelist")
        return format_html(
            '{}{} <a class="mailing-messages" href="{}?mailing__id__exact={}">messages</a>',
            self.progress(obj), self.counts(obj), url, obj.pk,
        )  # fmt: skip

    def _control(self, request, queryset, service: Callable[..., Mailing], done: str) -> None:
        changed, refused = 0, []
        for mailing in queryset:
            try:
                service(mailing=mailing, actor=request.user)
                changed += 1
            except ConflictError as exc:
                refused.append(str(exc))
        if changed:
            self.message_user(request, f"{done} {changed} mailing(s).", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    def has_test_message_permission(self, request, obj: Mailing | None = None) -> bool:
        """Those who may change mailings, of a finished or cancelled one too: its test message
        changes nothing of it."""
        return super().has_change_permission(request, obj)

    @admin.action(description="Send a test message to one phone", permissions=["test_message"])
    def test_message(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, "Choose one mailing to send a test message of.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:mailings_mailing_test_message", args=[chosen[0]]))

    @admin.action(description="Launch now", permissions=["change"])
    def launch_now(self, request, queryset) -> None:
        self._control(request, queryset, services.mailing_launch, "Launched")

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request, queryset) -> None:
        self._control(request, queryset, services.mailing_pause, "Paused")

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request, queryset) -> None:
        self._control(request, queryset, services.mailing_resume, "Resumed")

    def get_readonly_fields(self, request, obj: Mailing | None = None):
        if obj is not None and obj.started_at:
            return [*ENGINE_FIELDS, *SAID.values(), "start_datetime"]
        return [*ENGINE_FIELDS, *SAID.values()]

    def has_change_permission(self, request, obj: Mailing | None = None) -> bool:
        closed = obj is not None and obj.status in Mailing.CLOSED_STATUSES
        return not closed and super().has_change_permission(request, obj)

    def save_model(self, request, obj: Mailing, form, change: bool) -> None:
        # The mailing's own fields: not the form's "Save anyway" box.
        fields = {name: value for name, value in form.cleaned_data.items() if name in form._meta.fields}
        if change:
            saved = services.mailing_update(
                mailing=obj,
                actor=request.user,
                **{name: value for name, value in fields.items() if name in form.changed_data},
            )
        else:
            saved = services.mailing_create(actor=request.user, **fields)
        obj.pk, obj.status = saved.pk, saved.status
        for warning in getattr(form, "guard_warnings", []):  # confirmed: said once more, above the list
            self.message_user(request, f"Saved anyway: {warning.message}", messages.WARNING)
