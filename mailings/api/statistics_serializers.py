"""The statistics endpoints' shapes: counts per status, the success rate, what the
do-not-contact list left out, the SMS parts sent and the delivery reports' outcome, per mailing
and overall."""

from rest_framework import serializers

from mailings.api.serializers import (
    MailingCountsSerializer,
    MailingSerializer,
    MessageSerializer,
    StatusCountsSerializer,
)
from mailings.models import Mailing


def _success_rate_field() -> serializers.FloatField:
    return serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text=(
            "sent / (sent + failed + expired), from 0 to 1: of the messages whose delivery has ended, the share "
            "the provider accepted. Waiting (pending, sending) and cancelled messages are left out; null while "
            "no message has ended."
        ),
    )


def _left_out_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        help_text="Clients of the audience that got no message because their phone was on the do-not-contact list "
        "when the audience was taken (not counted among the messages nor in the success rate)."
    )


def _parts_sent_field() -> serializers.IntegerField:
    return serializers.IntegerField(help_text="SMS parts of the sent messages (each text as rendered for its client).")


class DeliverySerializer(serializers.Serializer):
    """What the provider's delivery reports said of the sent messages (docs/sending.md)."""

    delivered = serializers.IntegerField(help_text="Sent messages the provider reported delivered.")
    undelivered = serializers.IntegerField(help_text="Sent messages reported undelivered or expired.")
    no_report = serializers.IntegerField(
        help_text="Sent messages without a report DELIVERY_REPORT_TIMEOUT_HOURS after sending: unknown for good."
    )
    delivery_rate = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="delivered / (delivered + undelivered + no_report), from 0 to 1; messages still waiting for a "
        "report are left out; null while none is known.",
    )


class MailingStatisticsSerializer(serializers.Serializer):
    mailing = MailingSerializer()
    messages_total = serializers.IntegerField()
    messages_by_status = StatusCountsSerializer()
    success_rate = _success_rate_field()
    left_out_do_not_contact = _left_out_field()
    parts_sent = _parts_sent_field()
    delivery = DeliverySerializer()
    messages = MessageSerializer(many=True, help_text="One page of the mailing's messages (see the Link header).")


class MailingSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Mailing.Status.choices)
    start_datetime = serializers.DateTimeField()
    end_datetime = serializers.DateTimeField()
    message_text = serializers.CharField()
    messages_total = serializers.IntegerField()
    messages_by_status = StatusCountsSerializer()
    success_rate = _success_rate_field()
    left_out_do_not_contact = _left_out_field()
    parts_sent = _parts_sent_field()
    delivery = DeliverySerializer()


class OverallStatisticsSerializer(serializers.Serializer):
    mailings_total = serializers.IntegerField()
    mailings_by_status = MailingCountsSerializer()
    messages_total = serializers.IntegerField()
    messages_by_status = StatusCountsSerializer()
    success_rate = _success_rate_field()
    left_out_do_not_contact = serializers.IntegerField(
        help_text="The sum over all mailings of their clients left out for the do-not-contact list."
    )
    delivery = DeliverySerializer()
    mailings = MailingSummarySerializer(many=True, help_text="One page of mailings (see the Link header).")
