"""Operator pages. Big tables: no full COUNT(*) per page, raw ids for foreign keys.

Writes go through `services`, like every other interface, so the admin keeps the
same promises as the API (history kept, engine state untouched).
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask
from import_export.admin import ImportExportMixin
from import_export.signals import post_export

from mailings import selectors, services
from mailings.admin_filters import IndexedValuesFilter
from mailings.charts import daily_bars_svg
from mailings.client_csv import FileError, csv_chunks, export_columns, export_rows
from mailings.errors import ConflictError
from mailings.forms import ClientImportForm, TestMessageForm
from mailings.gateway import Outcome
from mailings.models import Client, Mailing, MailingStatistics, Message
from mailings.normalizers import OPERATOR_CODE_RE
from mailings.paginators import EstimatedCountPaginator
from mailings.resources import ClientCSV, ClientResource
from mailings.sending.test_message import send_test_message

ENGINE_FIELDS = ["status", "started_at", "finished_at", "created_at", "updated_at"]


@admin.register(Client)
class ClientAdmin(ImportExportMixin, admin.ModelAdmin):
    resource_classes = [ClientResource]
    import_formats = [ClientCSV]
    export_formats = [ClientCSV]
    import_template_name = "admin/mailings/client/import.html"
    import_form_class = ClientImportForm
    paginator = EstimatedCountPaginator
    list_display = ["phone_number", "operator_code", "tag", "timezone", "created_at"]
    list_filter = [
        ("operator_code", IndexedValuesFilter),
        ("tag", IndexedValuesFilter),
        ("timezone", IndexedValuesFilter),
    ]
    search_fields = ["phone_number"]  # see get_search_results
    search_help_text = "A phone number or its first digits (such as +7 913), or an exact tag."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # "Show counts": a count per value over every client, on every page after

    def get_search_results(self, request, queryset, search_term):
        """Digits: a phone prefix (an index range, even on a million clients); anything else: a tag."""
        term = search_term.strip()
        if not term:
            return queryset, False
        digits = re.sub(r"[\s\-().+]", "", term)
        if re.fullmatch(r"[0-9]+", digits):
            # A phone prefix (PostgreSQL's varchar_pattern_ops index on the unique phone), or a tag of digits.
            return queryset.filter(Q(phone_number__startswith=digits) | Q(tag=term)), False
        return queryset.filter(tag=term), False

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        """Streamed row by row (django-import-export would build the whole file in memory first:
        680 MB for a million clients)."""
        columns = export_columns(self.get_export_resource_fields_from_form(export_form))
        rows = queryset.order_by("id").values_list(*columns).iterator(chunk_size=5000)
        response = StreamingHttpResponse(csv_chunks(columns, export_rows(rows)), content_type="text/csv")
        filename = self.get_export_filename(request, queryset, file_format)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        post_export.send(sender=None, model=self.model)
        return response

    def write_to_tmp_storage(self, import_file, input_format):
        """As import-export's, but joining the pieces once: it appends each 64 KB piece to the
        last, a quadratic copy (1.1 s for a 15 MB file, 17 s for 64 MB; joined: 9 and 39 ms)."""
        storage = self.get_tmp_storage_class()(
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        storage.save(b"".join(import_file.chunks()))
        return storage

    def import_action(self, request, **kwargs):
        """The upload page and its preview; an upload whose preview found errors is not kept."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        form = context.get("form")
        upload = getattr(form, "cleaned_data", {}).get("import_file")
        name = getattr(upload, "tmp_storage_name", None)
        if name and "confirm_form" not in context:
            self.get_tmp_storage_class()(name=name, **self.get_tmp_storage_class_kwargs()).remove()
        return response

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except FileError as exc:  # the upload waiting for confirmation is gone
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:mailings_client_import"))

    def has_import_permission(self, request) -> bool:
        # An import creates clients and updates existing ones.
        opts = self.opts
        return all(
            request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}") for action in ("add", "change")
        )

    def add_data_read_fail_error_to_form(self, form, e) -> None:
        if isinstance(e, FileError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def delete_model(self, request, obj: Client) -> None:
        services.client_delete(client=obj)

    def delete_queryset(self, request, queryset) -> None:
        for client in queryset:
            services.client_delete(client=client)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A page to read: nothing is added, changed or deleted from it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


COUNTED = {
    "n_total": None,
    "n_sent": [Message.Status.SENT],
    "n_failed": [Message.Status.FAILED],
    "n_waiting": [Message.Status.PENDING, Message.Status.SENDING],
    "n_dropped": [Message.Status.EXPIRED, Message.Status.CANCELLED],
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
        return format_html(
            '<div class="mailing-progress" data-mailing="{}" title="{} sent, {} failed of {}">'
            '<div class="bar"><span class="sent" style="width:{}%"></span>'
            '<span class="failed" style="width:{}%"></span></div>'
            '<span class="figure">{} / {}</span></div>',
            obj.pk, obj.n_sent, obj.n_failed, total, f"{sent_pct:.1f}", f"{failed_pct:.1f}", obj.n_sent, total,
        )  # fmt: skip

    @admin.display(description="failed · waiting · expired or cancelled")
    def counts(self, obj: Mailing) -> str:
        return format_html(
            '<span class="mailing-counts" data-mailing="{}" title="dropped: expired or cancelled">'
            "{} failed · {} waiting · {} dropped</span>",
            obj.pk, obj.n_failed, obj.n_waiting, obj.n_dropped,
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
        ids = [int(value) for value in request.GET.getlist("id")[:200] if re.fullmatch(r"[0-9]{1,18}", value)]
        mailings = self.get_queryset(request).filter(pk__in=ids)
        return JsonResponse({str(m.pk): self.live_parts(m) for m in mailings})

    def live_parts(self, obj: Mailing) -> dict[str, str]:
        return {"progress": self.progress(obj), "counts": self.counts(obj), "status": self.status_label(obj)}


@admin.register(Mailing)
class MailingAdmin(MessageCountsMixin, admin.ModelAdmin):
    list_display = [
        "short_text",
        "status_label",
        "when",
        "audience",
        "progress_and_counts",
    ]
    list_display_links = ["short_text"]
    list_filter = ["status", "start_datetime", "end_datetime"]
    search_fields = ["message_text"]
    exclude = ["audience_outdated"]
    actions = ["launch_now", "pause", "resume", "cancel", "test_message"]
    list_per_page = 50

    change_form_template = "admin/mailings/mailing/change_form.html"
    change_list_template = "admin/mailings/mailing/change_list.html"
    fieldsets = [
        (None, {"fields": ["message_text"]}),
        ("When", {"fields": ["start_datetime", "end_datetime", ("send_window_start", "send_window_end")]}),
        ("Who", {"fields": [("filter_operator_code", "filter_tag")], "description": "Empty means any."}),
        ("State", {"fields": [*ENGINE_FIELDS]}),
    ]

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
        return [preview, test_message, live, *super().get_urls()]

    def test_message_view(self, request, object_id: str):
        """Send the mailing's text to one phone now, and say what the provider answered."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        mailing = self.get_object(request, object_id)
        if mailing is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        form = TestMessageForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            phone = form.cleaned_data["phone_number"]
            result = send_test_message(phone=phone, text=mailing.message_text, mailing_id=mailing.pk)
            if result.outcome is Outcome.SENT:
                report = f"Test message sent to {phone}: the provider accepted it in {result.duration * 1000:.0f} ms."
                self.message_user(request, report, messages.SUCCESS)
            else:
                report = f"Test message to {phone} not sent: {result.error}."
                self.message_user(request, report, messages.ERROR)
            self.log_change(request, mailing, report)
            return HttpResponseRedirect(reverse("admin:mailings_mailing_change", args=[mailing.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Send a test message",
            "opts": self.opts,
            "original": mailing,
            "form": form,
        }
        return TemplateResponse(request, "admin/mailings/mailing/test_message.html", context)

    def audience_preview(self, request) -> JsonResponse:
        """How many clients a filter matches now: the change form asks as the operator types."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        operator_code = request.GET.get("filter_operator_code", "").strip()
        tag = request.GET.get("filter_tag", "").strip()
        if operator_code and not OPERATOR_CODE_RE.match(operator_code):
            return JsonResponse({"error": "The operator code is 3 digits, such as 913."}, status=400)
        count = selectors.audience_count(operator_code=operator_code, tag=tag)
        return JsonResponse({"count": count})

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "processing_task": selectors.processing_task(),
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
            count = selectors.audience_count_recent(operator_code=obj.filter_operator_code, tag=obj.filter_tag)
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
                service(mailing=mailing)
                changed += 1
            except ConflictError as exc:
                refused.append(str(exc))
        if changed:
            self.message_user(request, f"{done} {changed} mailing(s).", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Send a test message to one phone", permissions=["change"])
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

    @admin.action(description="Cancel (waiting messages are dropped)", permissions=["change"])
    def cancel(self, request, queryset) -> None:
        self._control(request, queryset, services.mailing_cancel, "Cancelled")

    def get_readonly_fields(self, request, obj: Mailing | None = None):
        if obj is not None and obj.started_at:
            return [*ENGINE_FIELDS, "start_datetime"]
        return ENGINE_FIELDS

    def has_change_permission(self, request, obj: Mailing | None = None) -> bool:
        closed = obj is not None and obj.status in (Mailing.Status.FINISHED, Mailing.Status.CANCELLED)
        return not closed and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj: Mailing | None = None) -> bool:
        # A mailing with messages keeps them: its statistics are history.
        return not (obj is not None and obj.messages.exists()) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj: Mailing, form, change: bool) -> None:
        editable = [name for name in form.changed_data if name in form.cleaned_data]
        if change:
            saved = services.mailing_update(mailing=obj, **{name: form.cleaned_data[name] for name in editable})
        else:
            saved = services.mailing_create(**{name: form.cleaned_data[name] for name in form.cleaned_data})
        obj.pk, obj.status = saved.pk, saved.status

    def delete_model(self, request, obj: Mailing) -> None:
        services.mailing_delete(mailing=obj)


def _known_message_total(params) -> int | None:
    if any(len(values) > 1 for _, values in params.lists()):  # repeated filters are OR-ed: not what the counts know
        return None
    filters = {key: value for key, value in params.items() if key not in ("p", "o")}
    if not filters or set(filters) - {"status__exact", "mailing__id__exact"}:
        return None
    status = filters.get("status__exact")
    mailing_id = filters.get("mailing__id__exact")
    if (status is not None and status not in Message.Status.values) or (
        mailing_id is not None and not re.fullmatch(r"[0-9]{1,18}", mailing_id)
    ):
        return None
    return selectors.message_total(mailing_id=int(mailing_id) if mailing_id else None, status=status)


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
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        known = _known_message_total(request.GET)
        if known is not None:
            paginator.__dict__["count"] = known  # Paginator.count is a cached_property
        return paginator

    @admin.display(description="last error")
    def short_error(self, obj: Message) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")


@admin.register(MailingStatistics)
class MailingStatisticsAdmin(MessageCountsMixin, ReadOnlyAdmin):
    """One row per mailing with its counts and success rate, and the totals of what the filters select."""

    list_display = ["short_text", "status", "progress", "success_rate", "sent", "failed", "waiting", "dropped"]
    list_display_links = None
    list_filter = ["status", "start_datetime", "end_datetime"]
    search_fields = ["message_text"]
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
        return _rate(obj.n_sent, obj.n_total)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # not a redirect: add the totals of what the filters select
            totals = selectors.message_counts_of(mailings=changelist.queryset.values("pk"))
            total = sum(totals.values())
            response.context_data["totals"] = {
                "mailings": changelist.queryset.count(),
                "messages": total,
                "by_status": totals,
                "success_rate": _rate(totals["sent"], total),
            }
            daily = selectors.daily_sent_failed(mailings=changelist.queryset.values("pk"))
            response.context_data["daily_chart"] = daily_bars_svg(daily)
            response.context_data["daily_totals"] = (sum(d[1] for d in daily), sum(d[2] for d in daily))
        return response


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    """django-celery-beat's page, whose actions (enable, disable, run now) need the change permission."""

    def get_actions(self, request):
        return super().get_actions(request) if self.has_change_permission(request) else {}
