"""The admin's CSV imports (clients, the do-not-contact list): django-import-export's upload,
preview and confirm pages, with the upload kept in a private file (mailings/uploads.py) only
while it waits for its confirmation, and a file that cannot be read refused with the reason."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from mailings.client_csv import FileError
from mailings.forms import ConfirmListImportForm


class CsvImportMixin:
    """For a ModelAdmin with ImportExportMixin whose resource reads mailings.client_csv files."""

    def get_confirm_form_class(self, request):
        return ConfirmListImportForm

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["reason"] = import_form.cleaned_data.get("reason", "")
        return initial

    def get_import_data_kwargs(self, **kwargs):
        """The reason chosen for the do-not-contact list rides to the resource's `import_data`."""
        form = kwargs.get("form")
        reason = form.cleaned_data.get("reason", "") if form is not None and hasattr(form, "cleaned_data") else ""
        return {**super().get_import_data_kwargs(**kwargs), "reason": reason}

    def write_to_tmp_storage(self, import_file, input_format):
        """As import-export's, but joining the pieces once: it appends each 64 KB piece to
        everything read before it, a copy that grows with the square of the file's size."""
        storage = self.get_tmp_storage_class()(
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        storage.save(b"".join(import_file.chunks()))
        return storage

    def import_action(self, request, **kwargs):
        """The upload page and its preview. Only an upload the preview offers to confirm is kept:
        one refused (its rows, or the file as a whole) is removed at once. The uploaded file
        object carries the name it was saved under; the form is no help, as a refusal takes
        `import_file` out of its cleaned data."""
        response = None
        try:
            response = super().import_action(request, **kwargs)
        finally:
            name = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
            if name and "confirm_form" not in (getattr(response, "context_data", None) or {}):
                self._upload(name).remove()
        return response

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except FileError as exc:  # the upload waiting for confirmation is gone, or now refused
            self._upload(request.POST.get("import_file_name", "")).remove()
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))

    def _upload(self, name: str):
        return self.get_tmp_storage_class()(name=name, **self.get_tmp_storage_class_kwargs())

    def add_data_read_fail_error_to_form(self, form, e) -> None:
        if isinstance(e, FileError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)
