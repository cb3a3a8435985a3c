"""Query filters of the list endpoints; an unknown value is a 400 that names the filter."""

from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters

from mailings.models import Client, Mailing, Message, Suppression, operator_code_validator
from mailings.normalizers import phone_prefix
from mailings.selectors import phones_starting_with


class ClientFilter(filters.FilterSet):
    tag = filters.CharFilter()
    operator_code = filters.CharFilter(validators=[operator_code_validator])

    class Meta:
        model = Client
        fields = ["tag", "operator_code"]


class MailingFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Mailing.Status.choices)

    class Meta:
        model = Mailing
        fields = ["status"]


class MessageFilter(filters.FilterSet):
    mailing = filters.ModelChoiceFilter(queryset=Mailing.objects.all())
    client = filters.ModelChoiceFilter(queryset=Client.objects.all())
    status = filters.ChoiceFilter(choices=Message.Status.choices)

    class Meta:
        model = Message
        fields = ["mailing", "client", "status"]


def _phone_start_validator(value: str) -> None:
    if phone_prefix(value) is None:
        raise ValidationError("Expected a phone number or its first digits, such as 7913 or +7 913 123.")


class SuppressionFilter(filters.FilterSet):
    phone = filters.CharFilter(
        method="filter_phone",
        validators=[_phone_start_validator],
        help_text="A phone or its first digits (8 read as 7, as in 8 913 = 7913).",
    )
    reason = filters.ChoiceFilter(choices=Suppression.Reason.choices)

    class Meta:
        model = Suppression
        fields = ["phone", "reason"]

    def filter_phone(self, queryset, name, value):
        return phones_starting_with(queryset, phone_prefix(value))
