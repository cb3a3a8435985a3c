"""Query filters of the list endpoints; an unknown value is a 400 that names the filter."""

from django_filters import rest_framework as filters

from mailings.models import Client, Mailing, Message, operator_code_validator


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
