"""Admin forms that are not a model's."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from import_export.forms import ConfirmImportForm, ImportForm

from mailings import guard_rails
from mailings.models import Mailing, Suppression
from mailings.normalizers import normalize_phone


class TestMessageForm(forms.Form):
    phone_number = forms.CharField(
        max_length=32,
        help_text="The phone to send the mailing's text to, such as +7 900 123-45-67. "
        "It need not be a client; nothing is recorded as a message of the mailing.",
    )

    def clean_phone_number(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone_number"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class ClientImportForm(ImportForm):
    """django-import-export's upload form, refusing a file too big to read in one request.

    Where more than one file format is offered, they are where the file goes: the client
    import's second "format" puts the file's phones on the do-not-contact list instead of the
    directory (mailings/resources.py), with the reason chosen here."""

    reason = forms.ChoiceField(
        choices=Suppression.Reason.choices,
        initial=Suppression.Reason.MANUAL,
        required=False,
        label="Do-not-contact reason",
        help_text="For phones put on the do-not-contact list (a row's own reason, if the file has one, wins).",
    )

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        if len(formats) > 1:
            field = self.fields["format"]
            field.label = "Import into"
            list_mode = "the do-not-contact list (only the phone_number column is read)"
            field.choices = [("0", "the client directory"), *[(str(i), list_mode) for i in range(1, len(formats))]]
            field.initial = "0"
            # Not guessed from the file's name (import-export's script would reset the choice).
            field.widget.attrs.pop("class", None)
            self.fields["import_file"].widget.attrs.pop("class", None)

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.CLIENT_IMPORT_MAX_MB
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(
                f"This file is {upload.size / 1024 / 1024:,.1f} MB; at most {limit:g} MB can be imported at once "
                "(CLIENT_IMPORT_MAX_MB). Split it into smaller files."
            )
        return upload


class ConfirmListImportForm(ConfirmImportForm):
    """django-import-export's confirmation form, carrying the do-not-contact reason chosen on upload."""

    reason = forms.ChoiceField(choices=Suppression.Reason.choices, required=False, widget=forms.HiddenInput)


class MailingForm(forms.ModelForm):
    """The admin's mailing form. A browser posts a textarea's line breaks as CR LF; they are kept
    as LF, one character each, as the composer counts them and as the API would send them.

    A mailing that would send nothing (mailings/guard_rails.py) comes back with its warnings and
    a "Save anyway" box; ticked, it saves. The codes of the warnings shown ride along in a hidden
    field, so a tick confirms those only: a new warning after a change comes back to be confirmed.
    The page draws both inputs (mailing/guard_warnings.html), always unticked."""

    confirm_warnings = forms.BooleanField(required=False, label="Save anyway")
    warnings_shown = forms.CharField(required=False, widget=forms.HiddenInput)

    guard_warnings: list[guard_rails.GuardWarning] = []

    class Meta:
        model = Mailing
        fields = ["message_text"]  # the admin's fieldsets add the rest

    def clean_message_text(self) -> str:
        return self.cleaned_data["message_text"].replace("\r\n", "\n")

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now holds every value, the read-only ones too
        if self.errors:
            return
        self.guard_warnings = guard_rails.mailing_warnings_of(mailing=self.instance)
        codes = [warning.code for warning in self.guard_warnings]
        confirmed = set(self.cleaned_data.get("warnings_shown", "").split(",")) >= set(codes)
        if codes and not (self.cleaned_data.get("confirm_warnings") and confirmed):
            self.add_error("confirm_warnings", "This mailing would send nothing as it is: fix it, or tick Save anyway.")

    @property
    def guard_codes(self) -> str:
        return ",".join(warning.code for warning in self.guard_warnings)
