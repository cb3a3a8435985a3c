"""Admin forms that are not a model's."""

from django import forms
from django.core.exceptions import ValidationError

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
