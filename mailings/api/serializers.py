"""Shapes of the JSON API, as in the original Mailer API's examples.

Serializers parse and format; the services validate fully and write.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from mailings import guard_rails, placeholders
from mailings import segments as sms
from mailings.api.fields import LocalTimeField, MessageStatusField, PhoneNumberField, TimeZoneField
from mailings.models import Client, Mailing, Message, Suppression
from mailings.sending.circuit import Mode


def _request_example(name: str, summary: str, value: dict) -> OpenApiExample:
    return OpenApiExample(name, summary=summary, value=value, request_only=True)


@extend_schema_serializer(
    examples=[
        _request_example(
            "client",
            "A client three hours ahead of UTC",
            {"phone_number": "+7 (913) 123-45-67", "operator_code": "", "tag": "vip", "timezone": 3},
        )
    ]
)
class AttributesField(serializers.DictField):
    """A client's attributes: name -> text; checked by placeholders.normalize_attributes, naming each key."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(allow_blank=True), **kwargs)

    def to_internal_value(self, data):
        try:
            return placeholders.normalize_attributes(data if isinstance(data, dict) else data or None)
        except placeholders.AttributesError as exc:
            raise serializers.ValidationError(exc.problems) from None


class ClientSerializer(serializers.ModelSerializer):
    phone_number = PhoneNumberField(
        help_text="7 and ten digits, such as 79001234567; spaces, dashes, dots, brackets and a leading + are dropped."
    )
    timezone = TimeZoneField(
        help_text=(
            "Required: a mailing's sending window is read on the client's clock. An IANA name (Europe/Moscow), "
            "an offset (GMT+3, UTC-05:30) or a whole number of hours (3, -5); answered as the stored IANA name "
            "(3 and GMT+3 are Etc/GMT-3: IANA's sign is flipped)."
        )
    )

    attributes = AttributesField(
        required=False,
        help_text=(
            'Values a mailing\'s text may use as placeholders, such as {"first_name": "Anna"} for '
            "{first_name}: names of lowercase letters, digits and _ (at most 40, not a client field), values "
            f"text of at most {placeholders.ATTRIBUTE_VALUE_MAX_LENGTH} characters (numbers are stored as text; "
            f"an empty value removes the attribute), at most {placeholders.ATTRIBUTES_MAX_KEYS} of them. "
            "A write replaces the whole object."
        ),
    )

    class Meta:
        model = Client
        fields = ["id", "phone_number", "operator_code", "tag", "timezone", "attributes"]
        extra_kwargs = {"operator_code": {"required": False}, "tag": {"required": False}}


@extend_schema_serializer(
    examples=[
        _request_example(
            "mailing",
            "One operator's VIP clients, from 9:00 to 21:00 on their clocks",
            {
                "start_datetime": "2030-03-04T06:00:00Z",
                "end_datetime": "2030-03-08T18:00:00Z",
                "message_text": "Spring sale: 20% off until Friday.",
                "filter_operator_code": "913",
                "filter_tag": "vip",
                "send_window_start": "09:00",
                "send_window_end": "21:00",
            },
        )
    ]
)
class MailingSerializer(serializers.ModelSerializer):
    encoding = serializers.SerializerMethodField(
        help_text="How the text is sent: GSM-7 when every character is in it, else UCS-2."
    )
    segments = serializers.SerializerMethodField(
        help_text="SMS parts each message of the text costs (160 or 153 characters a part in GSM-7, 70 or 67 "
        "in UCS-2); at most MAILING_MAX_PARTS (10 unless configured)."
    )
    send_window_start = LocalTimeField(
        required=False, allow_null=True, help_text=Mailing._meta.get_field("send_window_start").help_text
    )
    send_window_end = LocalTimeField(
        required=False, allow_null=True, help_text=Mailing._meta.get_field("send_window_end").help_text
    )

    class Meta:
        model = Mailing
        fields = [
            "id",
            "start_datetime",
            "message_text",
            "filter_operator_code",
            "filter_tag",
            "end_datetime",
            "send_window_start",
            "send_window_end",
            "encoding",
            "segments",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "created_at", "updated_at"]
        extra_kwargs = {
            "filter_operator_code": {"required": False},
            "filter_tag": {"required": False},
        }

    @extend_schema_field(serializers.ChoiceField(choices=[sms.GSM_7, sms.UCS_2]))
    def get_encoding(self, mailing: Mailing) -> str:
        return sms.count(mailing.message_text).encoding

    def get_segments(self, mailing: Mailing) -> int:
        return sms.count(mailing.message_text).parts


class GuardWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=guard_rails.CODES,
        help_text="end_passed: the end has passed; audience_empty: the filter matches no client now; "
        "window_unreachable: the sending window opens for none of the audience's clients before the end.",
    )
    message = serializers.CharField(help_text="The same words the admin shows.")


class MailingSavedSerializer(MailingSerializer):
    """A mailing as create and update answer it: with the reasons it would send nothing."""

    warnings = serializers.SerializerMethodField(
        help_text="Why this mailing, saved as it is, would send nothing (empty when it can send). "
        "The mailing is saved all the same."
    )

    class Meta(MailingSerializer.Meta):
        fields = [*MailingSerializer.Meta.fields, "warnings"]

    @extend_schema_field(GuardWarningSerializer(many=True))
    def get_warnings(self, mailing: Mailing) -> list[dict[str, str]]:
        return [warning.as_dict() for warning in guard_rails.mailing_warnings_of(mailing=mailing)]


@extend_schema_serializer(
    examples=[
        _request_example(
            "message", "A message recorded by hand, to be sent", {"mailing": 1, "client": 1, "status": "pending"}
        )
    ]
)
class MessageSerializer(serializers.ModelSerializer):
    status = MessageStatusField(required=False)
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())

    class Meta:
        model = Message
        fields = [
            "id",
            "created_at",
            "status",
            "mailing",
            "client",
            "phone_number",
            "attempts",
            "sent_at",
            "last_error",
            "parts",
            "delivery_status",
            "reported_at",
            "delivered_at",
            "delivery_error",
        ]
        read_only_fields = [
            "phone_number",
            "attempts",
            "sent_at",
            "last_error",
            "parts",
            "delivery_status",
            "reported_at",
            "delivered_at",
            "delivery_error",
        ]
        extra_kwargs = {"created_at": {"required": False}}


class StatusCountsSerializer(serializers.Serializer):
    """Messages per status; every status is present, zeros included."""

    pending = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    expired = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class MailingCountsSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField()
    running = serializers.IntegerField()
    paused = serializers.IntegerField()
    finished = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class ProviderStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[mode.value for mode in Mode],
        help_text="closed: sending normally; open: held after failures; probing: one message tests the provider.",
    )
    reason = serializers.CharField()
    opened_at = serializers.FloatField(allow_null=True, help_text="Unix time the circuit opened.")
    retry_at = serializers.FloatField(allow_null=True, help_text="Unix time of the next probe.")


class ActivationSerializer(serializers.Serializer):
    queued = serializers.BooleanField(
        help_text="Whether this request queued a processing pass for the workers (POST does, GET does not)."
    )
    task_id = serializers.CharField(
        allow_null=True, help_text="The queued pass's task id (null when nothing was queued)."
    )
    provider = ProviderStatusSerializer()
    mailings_total = serializers.IntegerField()
    mailings_by_status = MailingCountsSerializer()
    messages_total = serializers.IntegerField()
    messages_by_status = StatusCountsSerializer()


class RetriedSerializer(serializers.Serializer):
    retried = serializers.IntegerField(help_text="How many failed messages went back to waiting.")


@extend_schema_serializer(
    examples=[
        _request_example(
            "suppression",
            "A phone whose owner complained",
            {"phone_number": "+7 (913) 123-45-67", "reason": "complaint", "note": "called the hotline"},
        )
    ]
)
class SuppressionSerializer(serializers.ModelSerializer):
    phone_number = PhoneNumberField(
        help_text="7 and ten digits, such as 79001234567; written with 8 (the trunk prefix) it is read as 7."
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Suppression
        fields = ["phone_number", "reason", "note", "source", "created_by", "created_at"]
        read_only_fields = ["source", "created_at"]
        extra_kwargs = {"reason": {"required": False}, "note": {"required": False}}
