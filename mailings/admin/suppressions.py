"""The do-not-contact list: search by phone, filters by reason and source, add by hand, remove,
and its CSV import (preview, then confirm; mailings/suppression_csv.py) and export.

Writes go through `services.suppression_*`: an entry added here has source "admin" and the
user who added it; a phone listed already keeps its first entry."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from import_export.admin import ImportExportMixin

from mailings import selectors, services
from mailings.admin.imports import CsvImportMixin
from mailings.forms import ClientImportForm
from mailings.models import Suppression
from mailings.normalizers import phone_prefix
from mailings.resources import SuppressionCSV, SuppressionResource

ADMIN_SOURCE = "admin"


class SuppressionForm(forms.ModelForm):
    """Phone, reason and note; the phone is checked (and normalised) by the service on save."""

    class Meta:
        model = Suppression
        fields = ["phone_number", "reason", "note"]

    def validate_unique(self) -> None:
        """A phone listed already is no error: saving keeps its entry and says so."""


class SourceFilter(admin.SimpleListFilter):
    """The sources in use: "admin", "API", "import <file>", a provider's STOP replies..."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        sources = Suppression.objects.order_by("source").values_list("source", flat=True).distinct()[:50]
        return [(source, source or "(none)") for source in sources]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(source=value)


@admin.register(Suppression)
class SuppressionAdmin(CsvImportMixin, ImportExportMixin, admin.ModelAdmin):
    resource_classes = [SuppressionResource]
    import_formats = [SuppressionCSV]
    export_formats = [SuppressionCSV]
    import_template_name = "admin/mailings/suppression/import.html"
    export_template_name = "admin/mailings/client/export.html"
    import_form_class = ClientImportForm
    form = SuppressionForm
    list_display = ["phone_number", "reason", "source", "created_by", "created_at"]
    list_filter = ["reason", SourceFilter]
    list_select_related = ["created_by"]
    search_fields = ["phone_number"]  # see get_search_results
    search_help_text = "A phone number or its first digits (such as +7 913 or 8 913)."
    show_full_result_count = False
    ordering = ["-id"]  # newest first, as the model's order, on the primary key's index (no sort of the list)
    readonly_fields = ["source", "created_by", "created_at"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        prefix = phone_prefix(term)
        if prefix is None:
            return queryset.none(), False
        return selectors.phones_starting_with(queryset, prefix), False

    def get_fields(self, request, obj: Suppression | None = None):
        return (
            ["phone_number", "reason", "note"] if obj is None else [*SuppressionForm.Meta.fields, *self.readonly_fields]
        )

    def get_readonly_fields(self, request, obj: Suppression | None = None):
        # An entry is added or removed, never edited: what it says is what happened.
        return [*SuppressionForm.Meta.fields, *self.readonly_fields] if obj is not None else self.readonly_fields

    def has_change_permission(self, request, obj: Suppression | None = None) -> bool:
        return False

    def save_model(self, request, obj: Suppression, form, change: bool) -> None:
        try:
            added = services.suppression_add(
                phone_number=obj.phone_number, reason=obj.reason, note=obj.note, source=ADMIN_SOURCE, actor=request.user
            )
        except ValidationError as exc:  # the form checked the same; a race at most
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        obj.pk = added.suppression.pk
        if not added.created:
            self.message_user(
                request,
                f"{added.suppression.phone_number} was on the list already ({added.suppression.get_reason_display()}, "
                f"{added.suppression.source or 'no source'}): its entry is unchanged.",
                messages.WARNING,
            )

    def delete_model(self, request, obj: Suppression) -> None:
        services.suppression_remove(phone_number=obj.phone_number)

    def delete_queryset(self, request, queryset) -> None:
        for entry in queryset:
            services.suppression_remove(phone_number=entry.phone_number)

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.add_{self.opts.model_name}")

    def has_export_permission(self, request) -> bool:
        # Who may read the list may take it away as a file: no separate "export" permission.
        return self.has_view_permission(request)
