"""The client directory: a big table, its CSV import and a streamed export."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from import_export.admin import ImportExportMixin
from import_export.signals import post_export

from mailings import directory_selectors, selectors, services
from mailings.admin.base import QuickCheckboxesMixin
from mailings.admin.filters import IndexedValuesFilter, ZoneValuesFilter
from mailings.admin.imports import CsvImportMixin
from mailings.client_csv import csv_chunks, export_columns, export_rows
from mailings.formatting import zone_label
from mailings.forms import ClientImportForm
from mailings.models import Client
from mailings.normalizers import phone_prefix
from mailings.paginators import EstimatedCountPaginator
from mailings.resources import ClientCSV, ClientResource, PhonesToListCSV


@admin.register(Client)
class ClientAdmin(QuickCheckboxesMixin, CsvImportMixin, ImportExportMixin, admin.ModelAdmin):
    resource_classes = [ClientResource]
    # The second: the same file's phones to the do-not-contact list instead (ClientImportForm).
    import_formats = [ClientCSV, PhonesToListCSV]
    export_formats = [ClientCSV]
    import_template_name = "admin/mailings/client/import.html"
    export_template_name = "admin/mailings/client/export.html"
    import_form_class = ClientImportForm
    paginator = EstimatedCountPaginator
    list_display = ["phone_number", "operator_code", "tag", "zone", "created_at"]
    list_filter = [
        ("operator_code", IndexedValuesFilter),
        ("tag", IndexedValuesFilter),
        ("timezone", ZoneValuesFilter),
    ]
    search_fields = ["phone_number"]  # see get_search_results
    search_help_text = "A phone number or its first digits (such as +7 913), or an exact tag."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # "Show counts": a count per value over every client, on every page after

    @admin.display(description="time zone", ordering="timezone")
    def zone(self, obj: Client) -> str:
        return zone_label(obj.timezone)

    def get_search_results(self, request, queryset, search_term):
        """The start of a phone (an index range, even on a million clients), or an exact tag."""
        term = search_term.strip()
        if not term:
            return queryset, False
        prefix = phone_prefix(term)
        if prefix is None:
            return queryset.filter(tag=term), False
        # Or a tag of digits: both an index each.
        return selectors.phones_starting_with(queryset, prefix) | queryset.filter(tag=term), False

    def export_action(self, request):
        """The export page (django-import-export's form and template), and the file it asks for
        streamed row by row. The library answers with the whole file built in memory first
        (tablib writes no stream; docs/benchmarks.md) and has no public hook for the response
        but this view."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        formats = self.get_export_formats()
        form_class = self.get_export_form_class()
        form = form_class(formats, self.get_export_resource_classes(request), data=request.POST or None)
        if not form.is_valid():  # the page, or the form again with its errors
            request.current_app = self.admin_site.name
            context = self.init_request_context_data(request, form)
            return TemplateResponse(request, [self.export_template_name], context=context)
        file_format = formats[int(form.cleaned_data["format"])]()
        return self.export_stream(request, self.get_export_queryset(request), file_format, form)

    def export_stream(self, request, queryset, file_format, form) -> StreamingHttpResponse:
        """The chosen columns of the listed clients and their attributes as CSV, read in chunks,
        formulas made inert."""
        columns = export_columns(self.get_export_resource_fields_from_form(form))
        # Each attribute a listed client carries is a column after the fields (as the import reads them).
        names = directory_selectors.client_attribute_names(queryset)
        rows = (
            queryset.order_by("id").values_list(*columns, *(["attributes"] if names else [])).iterator(chunk_size=5000)
        )
        if names:
            rows = (row[:-1] + tuple(row[-1].get(name, "") for name in names) for row in rows)
        response = StreamingHttpResponse(csv_chunks([*columns, *names], export_rows(rows)), content_type="text/csv")
        filename = self.get_export_filename(request, queryset, file_format)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        post_export.send(sender=None, model=self.model)
        return response

    def has_import_permission(self, request) -> bool:
        # An import creates clients and updates existing ones.
        opts = self.opts
        return all(
            request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}") for action in ("add", "change")
        )

    def has_export_permission(self, request) -> bool:
        # The library's check is `mailings.export_client` (IMPORT_EXPORT_EXPORT_PERMISSION_CODE); the
        # file is every listed client, so it needs reading them too: "export" alone opens nothing.
        return super().has_export_permission(request) and self.has_view_permission(request)

    def delete_model(self, request, obj: Client) -> None:
        services.client_delete(client=obj)

    def delete_queryset(self, request, queryset) -> None:
        for client in queryset:
            services.client_delete(client=client)
