"""Serializer fields that parse what people type the way the models do."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mailings.models import Message
from mailings.normalizers import normalize_phone, normalize_timezone


class _NormalizedCharField(serializers.CharField):
    normalize = staticmethod(lambda value: value)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        try:
            return type(self).normalize(str(data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class PhoneNumberField(_NormalizedCharField):
    normalize = staticmethod(normalize_phone)


# What `normalize_phone` accepts: 7 and ten digits, maybe after a "+", or 8 (the trunk prefix, read
# as 7) and ten digits, with spaces, dashes, dots and brackets anywhere; answered as the stored 7
# and ten digits.
_SEPARATORS = r"[\s().-]*"
PHONE_SENT_PATTERN = rf"^{_SEPARATORS}(?:\+?{_SEPARATORS}7|8)(?:{_SEPARATORS}[0-9]){{10}}{_SEPARATORS}$"
PHONE_ANSWERED_PATTERN = r"^7[0-9]{10}$"


class PhoneNumberFieldSchema(OpenApiSerializerFieldExtension):
    target_class = PhoneNumberField

    def map_serializer_field(self, auto_schema, direction):
        if direction == "response":
            return {"type": "string", "pattern": PHONE_ANSWERED_PATTERN, "example": "79001234567"}
        return {"type": "string", "pattern": PHONE_SENT_PATTERN, "example": "+7 (900) 123-45-67"}


class TimeZoneField(_NormalizedCharField):
    normalize = staticmethod(normalize_timezone)
    default_error_messages = {"invalid": "Expected a time zone name or a whole number of hours from -12 to 14."}


class TimeZoneFieldSchema(OpenApiSerializerFieldExtension):
    """A request may send a whole number of hours; an answer is always the stored name."""

    target_class = TimeZoneField

    def map_serializer_field(self, auto_schema, direction):
        name = {"type": "string", "maxLength": 64, "example": "Europe/Moscow"}
        if direction == "response":
            return name
        return {"oneOf": [name, {"type": "integer", "minimum": -12, "maximum": 14, "example": 3}]}


# The original Mailer API's examples record statuses in Russian ("Отправлено").
_STATUS_ALIASES = {
    "отправлено": Message.Status.SENT,
    "не отправлено": Message.Status.FAILED,
    "ошибка": Message.Status.FAILED,
    "в ожидании": Message.Status.PENDING,
    "ожидает": Message.Status.PENDING,
    "отправляется": Message.Status.SENDING,
    "просрочено": Message.Status.EXPIRED,
    "отменено": Message.Status.CANCELLED,
}


class MessageStatusField(serializers.ChoiceField):
    """A message status by its code (`sent`), label (`Sent`) or the original API's Russian word."""

    def __init__(self, **kwargs):
        super().__init__(choices=Message.Status.choices, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            word = data.strip().lower()
            by_label = {label.lower(): value for value, label in Message.Status.choices}
            data = _STATUS_ALIASES.get(word) or by_label.get(word) or data
        return super().to_internal_value(data)


_LOCAL_TIME_RE = re.compile(r"^(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?$")


@extend_schema_field(
    {"type": "string", "pattern": _LOCAL_TIME_RE.pattern, "example": "09:00:00", "description": "HH:MM[:SS], no offset"}
)
class LocalTimeField(serializers.TimeField):
    """A time of day on the client's own clock: `09:00` or `21:30:00`, never with an offset or `Z`
    (which would suggest a zone it does not have)."""

    default_error_messages = {
        "local": "Enter a time of day on the client's clock, such as 09:00 or 21:30:00, without a date, offset or Z."
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M:%S")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _LOCAL_TIME_RE.match(value.strip()):
            self.fail("local")
        return super().to_internal_value(value.strip())
