"""The domain: clients, mailings and the messages that deliver a mailing to a client.

Rules live as close to the data as they can: field validators and DB constraints
(checked by `full_clean()` too), so the API, the admin and the CSV import refuse
the same things with the same words. Writing goes through `services`.

It is over 300 lines because Django keeps an app's models in one module (migrations name
them here): the fields that normalise input, then Client, Mailing, Message and their counts,
the do-not-contact list, inbound replies and SSO identities.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from mailings import placeholders, segments
from mailings.normalizers import OPERATOR_CODE_RE, PHONE_RE, normalize_phone, normalize_timezone
from mailings.providers import providers

TAG_MAX_LENGTH = 64
# A ceiling for the database; the limit people meet is on SMS parts (validate_message_parts).
MESSAGE_TEXT_MAX_LENGTH = 10_000


def validate_message_parts(text: str) -> None:
    """At most MAILING_MAX_PARTS SMS parts a message: refused saying why, never cut."""
    counted, limit = segments.count(text), settings.MAILING_MAX_PARTS
    if counted.parts <= limit:
        return
    why = ""
    if counted.encoding == segments.UCS_2:
        named = ", ".join(counted.ucs2_characters[:5]) + (", ..." if len(counted.ucs2_characters) > 5 else "")
        why = f" ({named} are not in GSM-7)"
    raise ValidationError(
        f"The text is {counted.parts} SMS parts of {counted.per_part} characters in {counted.encoding}{why}; "
        f"at most {limit} are allowed: shorten it.",
        code="too_many_parts",
    )


operator_code_validator = RegexValidator(
    OPERATOR_CODE_RE, "Enter exactly 3 digits, such as 913.", code="invalid_operator_code"
)


class _NormalizedCharField(models.CharField):
    """A CharField whose clean() turns what people type into the stored form.

    In clean(), not to_python(): lookups such as a phone prefix search must not be normalised.
    """

    normalize = staticmethod(lambda value: value)
    default_max_length = 255

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", self.default_max_length)
        super().__init__(*args, **kwargs)

    def clean(self, value, model_instance):
        if value not in self.empty_values:
            value = type(self).normalize(value)
        return super().clean(value, model_instance)


class PhoneNumberField(_NormalizedCharField):
    """`7` and ten digits; formatting such as `+7 (900) 123-45-67` is stripped on clean."""

    normalize = staticmethod(normalize_phone)
    default_max_length = 11

    def formfield(self, **kwargs):
        # Forms take the number as people write it (`+7 (900) 123-45-67` is 18 characters);
        # the model's clean() makes it 11.
        return super().formfield(**{"max_length": 32, **kwargs})


class TimeZoneNameField(_NormalizedCharField):
    """An IANA time zone name; offsets such as `GMT+3` are normalised on clean."""

    normalize = staticmethod(normalize_timezone)
    default_max_length = 64


def _move_constraint_errors_to_fields(exc: ValidationError, fields_by_code: dict[str, str]) -> ValidationError:
    """Check constraints report on the whole object; name the field a person must fix instead."""
    moved: dict[str, list[ValidationError]] = {}
    for field, errors in exc.error_dict.items():
        for error in errors:
            moved.setdefault(fields_by_code.get(error.code, field), []).append(error)
    return ValidationError(moved)


class Client(models.Model):
    phone_number = PhoneNumberField(unique=True, help_text="7 and ten digits, such as 79001234567.")
    operator_code = models.CharField(
        max_length=3,
        blank=True,
        validators=[operator_code_validator],
        help_text="Mobile operator code, 3 digits; taken from the phone's digits 2-4 when left empty.",
    )
    tag = models.CharField(max_length=TAG_MAX_LENGTH, blank=True, db_index=True)
    # What a mailing's text may name besides the fields ({first_name}): name -> text (placeholders.py).
    attributes = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        help_text="Values a mailing's text may use, such as {first_name}: an object of name: text.",
    )
    timezone = TimeZoneNameField(
        help_text=(
            "Required: sending windows are read on the client's clock. An IANA name (Europe/Moscow), "
            "a UTC offset (GMT+3, UTC-05:30) or whole hours (3, -5)."
        )
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        # The whole directory in one file is more than reading it page by page: its own permission
        # (django-import-export's IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export").
        permissions = [("export_client", "Can export clients")]
        indexes = [
            models.Index(fields=["operator_code", "tag"], name="client_operator_tag_idx"),
            # The admin's time zone filter and the guard rails read the distinct zones from this
            # index; the guard rails ask it whether an audience has a client in some zones.
            models.Index(fields=["timezone", "operator_code", "tag"], name="client_zone_audience_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(phone_number__regex=PHONE_RE.pattern),
                name="client_phone_number_format",
                violation_error_message="Phone number must be 7 followed by 10 digits.",
            ),
            models.CheckConstraint(
                condition=Q(operator_code__regex=OPERATOR_CODE_RE.pattern),
                name="client_operator_code_format",
                violation_error_message="Operator code must be 3 digits.",
            ),
        ]

    def __str__(self) -> str:
        return self.phone_number

    def clean(self) -> None:
        # The operator code defaults to the phone's digits 2-4 (7 900 ... -> 900).
        if not self.operator_code and self.phone_number and PHONE_RE.match(self.phone_number):
            self.operator_code = self.phone_number[1:4]
        try:
            self.attributes = placeholders.normalize_attributes(self.attributes)
        except placeholders.AttributesError as exc:
            raise ValidationError({"attributes": exc.problems}) from None

    def validate_constraints(self, exclude=None) -> None:
        # An empty code means "take it from the phone": when the phone is wrong, that error says it all.
        if not self.operator_code:
            exclude = {*(exclude or ()), "operator_code"}
        super().validate_constraints(exclude=exclude)


class Mailing(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    # Nothing of it is sent any more, nor changes.
    CLOSED_STATUSES = (Status.FINISHED, Status.CANCELLED)

    start_datetime = models.DateTimeField(help_text="When sending may begin.")
    end_datetime = models.DateTimeField(help_text="Nothing is sent after this moment.")
    message_text = models.TextField(
        # At most MAILING_MAX_PARTS SMS parts too: checked in clean(), on a new or changed text only.
        validators=[MinLengthValidator(1), MaxLengthValidator(MESSAGE_TEXT_MAX_LENGTH)],
        help_text="Sent as written, never cut: GSM-7 when every character is in it (160 characters a part, "
        "153 in longer texts), else UCS-2 (70, 67); a text of too many parts is refused.",
    )
    filter_operator_code = models.CharField(
        max_length=3,
        blank=True,
        validators=[operator_code_validator],
        help_text="Only clients with this operator code; empty for any.",
    )
    filter_tag = models.CharField(
        max_length=TAG_MAX_LENGTH, blank=True, help_text="Only clients with this tag; empty for any."
    )
    send_window_start = models.TimeField(
        null=True, blank=True, help_text="Client-local time from which messages may go out (optional)."
    )
    send_window_end = models.TimeField(
        null=True,
        blank=True,
        help_text="Client-local time after which messages wait; may be before the start (overnight).",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the audience was taken.")
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when the filter of a running mailing changes: the next tick takes the audience again.
    audience_outdated = models.BooleanField(default=False)
    # Set by each fan-out: the audience's clients whose phone was on the do-not-contact list and
    # so got no message (mailings/sending/fanout.py).
    left_out_do_not_contact = models.PositiveIntegerField(
        default=0, help_text="Clients of the audience left out at fan-out: their phone is on the do-not-contact list."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_datetime__gt=models.F("start_datetime")),
                name="mailing_end_after_start",
                violation_error_code="end_not_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("message_text"), 0)
                & LessThanOrEqual(Length("message_text"), MESSAGE_TEXT_MAX_LENGTH),
                name="mailing_message_text_length",
                violation_error_code="message_text_length",
                violation_error_message=f"The text must have 1 to {MESSAGE_TEXT_MAX_LENGTH} characters.",
            ),
            models.CheckConstraint(
                condition=Q(send_window_start__isnull=True, send_window_end__isnull=True)
                | Q(send_window_start__isnull=False, send_window_end__isnull=False),
                name="mailing_send_window_complete",
                violation_error_code="send_window_incomplete",
                violation_error_message="Give both ends of the sending window, or neither.",
            ),
        ]

    def __str__(self) -> str:
        return f"Mailing #{self.pk}: {self.message_text[:40]}"

    def clean(self) -> None:
        if self.send_window_start is not None and self.send_window_start == self.send_window_end:
            raise ValidationError(
                {"send_window_end": "The window's end equals its start; leave both empty to send at any time of day."}
            )
        if self._text_is_new() or ("{" in self.message_text and self._audience_is_new()):
            from mailings.personalisation import check_text  # it reads the audience (models -> selectors)

            try:
                check_text(self.message_text, operator_code=self.filter_operator_code, tag=self.filter_tag)
            except ValidationError as exc:
                raise ValidationError({"message_text": exc.error_list}) from None

    def _text_is_new(self) -> bool:
        """A mailing saved before the limits on parts and placeholders keeps its text: it may still
        be launched or edited. A new text is checked, and a personalised one on a new audience."""
        if self._state.adding or self.pk is None:
            return True
        return not type(self).objects.filter(pk=self.pk, message_text=self.message_text).exists()

    def _audience_is_new(self) -> bool:
        return (
            not type(self)
            .objects.filter(pk=self.pk, filter_operator_code=self.filter_operator_code, filter_tag=self.filter_tag)
            .exists()
        )

    def validate_constraints(self, exclude=None) -> None:
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            raise _move_constraint_errors_to_fields(
                exc,
                {
                    "end_not_after_start": "end_datetime",
                    "message_text_length": "message_text",
                    "send_window_incomplete": "send_window_end",
                },
            ) from None


class Message(models.Model):
    """One mailing's delivery to one client. Its id is the provider's msgId, stable across retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    class DeliveryStatus(models.TextChoices):
        """What the provider reported later about a sent message (mailings/delivery_reports.py)."""

        UNKNOWN = "unknown", "Unknown (no report yet)"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        # No report within DELIVERY_REPORT_TIMEOUT of sending: unknown for good, counted apart.
        NO_REPORT = "no_report", "Unknown for good (no report in time)"

    # Groups the engine, the statistics and the pages all mean by these words:
    # still to be sent (due, retrying, held, or on the wire now),
    WAITING_STATUSES = (Status.PENDING, Status.SENDING)
    # and never to be sent, through no fault of the provider.
    DROPPED_STATUSES = (Status.EXPIRED, Status.CANCELLED)

    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # A mailing with messages cannot be deleted (its history is its statistics).
    # Indexed by (mailing, id) and (mailing, client) below: an index of its own would be a third.
    mailing = models.ForeignKey(Mailing, on_delete=models.PROTECT, related_name="messages", db_index=False)
    # A deleted client leaves its messages behind, with the phone they went to.
    client = models.ForeignKey(Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    phone_number = PhoneNumberField(help_text="The phone the message was addressed to, kept if the client is deleted.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # A pending message is due once this has passed (backoff, a closed window, a queued batch).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, max_length=1000)
    # The SMS parts of the text this message went out with (rendered for its client); 0 until sent.
    parts = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    # The provider that took the message (mailings/providers.py), or is to be asked while it waits.
    provider = models.CharField(max_length=40, default="default", db_default="default", editable=False)
    # What the provider's delivery report said; never changes `status` (DESIGN.md: two statuses).
    delivery_status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default="unknown", db_default="unknown", editable=False
    )
    # The provider's time of the latest report applied (the latest wins), and of the delivery.
    reported_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivery_error = models.CharField(max_length=100, blank=True, default="", db_default="", editable=False)
    # Its request may have reached `provider` (a timeout, a connection dropped mid-request, a worker
    # that died): it stays with that provider for good, so that no second provider sends a copy.
    provider_pinned = models.BooleanField(default=False, db_default=False, editable=False)
    # The batch that owns the message: set when it is queued, checked when it is claimed and recorded.
    token = models.BigIntegerField(null=True, blank=True, editable=False)
    # While sending: when the reaper may assume the worker died and put the message back.
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["mailing", "client"], name="message_unique_mailing_client"),
        ]
        indexes = [
            # A mailing's messages in order (its statistics page, ?mailing= lists).
            models.Index(fields=["mailing", "id"], name="message_mailing_id_idx"),
            # The rows still waiting: what dispatch reads, oldest due first.
            models.Index(fields=["mailing", "next_attempt_at"], condition=Q(status="pending"), name="message_due_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending", token__isnull=False),
                name="message_queued_idx",
            ),
            models.Index(fields=["lease_expires_at"], condition=Q(status="sending"), name="message_lease_idx"),
            # The delivery log searched by phone prefix (a range on it) and sorted by phone.
            models.Index(fields=["phone_number", "id"], name="message_phone_id_idx"),
            # The delivery log and /messages/ filtered by a status, however rare, in id order.
            models.Index(fields=["status", "id"], name="message_status_id_idx"),
            # Sent messages still waiting for a report: what the report timeout closes, oldest first.
            models.Index(
                fields=["sent_at"], condition=Q(status="sent", delivery_status="unknown"), name="message_report_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk} to {self.phone_number} ({self.status})"


class MailingStatistics(Mailing):
    """The read-only statistics page of the admin: mailings with their message counts."""

    class Meta:
        proxy = True
        verbose_name = "mailing statistics"
        verbose_name_plural = "mailing statistics"


class MessageCount(models.Model):
    """Message counts per mailing and status, kept by database triggers on the message table.

    Every statement that inserts, updates or deletes messages appends its net change
    here (one row per mailing and status it touched); the tick folds the rows of each
    mailing and status into one (mailings/counts.py). Statistics sum a handful of rows
    instead of counting millions of messages, and no writer ever waits on another for a
    counter. The live trigger SQL: migration 0005 creates the triggers (statement-level
    on PostgreSQL, row-level on SQLite), 0010 gives them the bodies that record the day.
    """

    mailing_id = models.BigIntegerField()
    status = models.CharField(max_length=16)
    # The (UTC) day the change happened: messages sent and failed per day come from here.
    day = models.DateField()
    delta = models.BigIntegerField()
    # The net change of the SMS parts of those messages (Message.parts): parts sent per mailing.
    parts = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        indexes = [
            models.Index(fields=["mailing_id", "status"], name="messagecount_mailing_idx"),
            models.Index(fields=["day", "status"], name="messagecount_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mailing_id} {self.status} {self.delta:+d}"


class DeliveryCount(models.Model):
    """Messages per mailing and delivery status (delivered, undelivered, no report), kept by
    database triggers on the message table like MessageCount and folded by the tick.

    Apart from MessageCount so that the status counts keep their shape: only changes of
    `delivery_status` away from or to `unknown` append a row. Trigger SQL: migration
    0026_delivery_reports.
    """

    mailing_id = models.BigIntegerField()
    delivery_status = models.CharField(max_length=16)
    delta = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["mailing_id", "delivery_status"], name="deliverycount_mailing_idx")]

    def __str__(self) -> str:
        return f"{self.mailing_id} {self.delivery_status} {self.delta:+d}"


class MessageMinute(models.Model):
    """Messages that became sent or failed per mailing and UTC minute, kept by database triggers.

    Apart from MessageCount so the statistics that sum a mailing's status totals stay a handful
    of rows: these are read only for one mailing's send rate and its chart (a range of its
    minutes). Statements that move messages into or out of sent/failed append their net change
    with the minute the transaction began; the tick folds each (mailing, status, minute) into one
    row (mailings/counts.py). Trigger SQL: migration 0019_message_minutes. The series
    starts with that migration: earlier sends are in the day rows only.
    """

    mailing_id = models.BigIntegerField()
    status = models.CharField(max_length=16)
    minute = models.DateTimeField()
    delta = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["mailing_id", "minute"], name="messageminute_mailing_idx"),
            # The tick folds the last day's minutes only (counts.FOLD_MINUTES_WITHIN).
            models.Index(fields=["minute"], name="messageminute_minute_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mailing_id} {self.status} {self.minute:%Y-%m-%d %H:%M} {self.delta:+d}"


class Suppression(models.Model):
    """A phone that must not be contacted: kept by number, so that it outlives deleting and
    re-importing its client. Fan-out leaves it out and the claim drops its waiting messages."""

    class Reason(models.TextChoices):
        STOP = "stop", "STOP reply"
        COMPLAINT = "complaint", "Complaint"
        MANUAL = "manual", "Added by hand"
        INVALID = "invalid", "Invalid number"

    phone_number = PhoneNumberField(unique=True, help_text="7 and ten digits, such as 79001234567.")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.MANUAL)
    # Where it came from: "admin", "API", "import", "inbound default" (a provider's STOP reply)...
    source = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "do-not-contact entry"
        verbose_name_plural = "do-not-contact list"
        constraints = [
            models.CheckConstraint(
                condition=Q(phone_number__regex=PHONE_RE.pattern),
                name="suppression_phone_number_format",
                violation_error_message="Phone number must be 7 followed by 10 digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.get_reason_display()})"


class InboundReply(models.Model):
    """A reply a provider delivered to `POST /inbound/<provider>/`, kept once: a delivery repeated
    or replayed finds its row and changes nothing; the latest `received_at` per phone decides.
    Written by services.inbound_replies_record, which sets `text_digest`."""

    class Action(models.TextChoices):
        SUPPRESSED = "suppressed", "Put on the do-not-contact list"
        UNSUPPRESSED = "unsuppressed", "Taken off the do-not-contact list"
        IGNORED = "ignored", "Nothing to do"

    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", "Opt-out word (STOP)"
        OPT_IN = "opt_in", "Opt-in word (START)"
        OTHER = "other", "Other text"

    provider = models.CharField(max_length=50)
    phone_number = PhoneNumberField()
    text = models.CharField(max_length=1600)
    # The text's SHA-256 (hex) stands for it in the unique key: 1,600 characters do not fit an index entry.
    text_digest = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "phone_number", "received_at", "text_digest"], name="inbound_reply_once"
            ),
        ]
        indexes = [models.Index(fields=["phone_number", "received_at"], name="inbound_reply_phone_idx")]

    def __str__(self) -> str:
        return f"{self.phone_number} {self.text[:20]!r} ({self.action})"


PHONE_PREFIX_RE = r"^7\d{0,10}$"


class Route(models.Model):
    """Where messages go: a phone prefix or an operator code to a provider, with a weight.

    The rows with the same prefix or code make one route, whose providers share its messages
    by weight; the rows with neither are the default route, for the messages no other route
    takes (without one, those go to `default`). mailings/routing.py reads them.
    """

    phone_prefix = models.CharField(
        max_length=11,
        blank=True,
        validators=[RegexValidator(PHONE_PREFIX_RE, "Enter 7 and up to 10 more digits, such as 7913.")],
        help_text="The phones this route takes: 7 and more digits (the longest prefix that matches wins).",
    )
    operator_code = models.CharField(
        max_length=3,
        blank=True,
        validators=[operator_code_validator],
        help_text="Or the clients of this mobile operator code (3 digits). Neither: the default route.",
    )
    provider = models.CharField(max_length=40, help_text="A provider's name, as configured (Providers page).")
    weight = models.PositiveIntegerField(
        default=100, help_text="Its share of the route: 70 and 30 send 70% and 30% of the route's messages."
    )
    parts_per_second = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1, "Enter 1 or more SMS parts per second, or leave it blank for no limit.")],
        help_text="This route's own cap on this provider, in SMS parts per second, on top of the provider's "
        "limit; blank: none of its own.",
    )

    class Meta:
        ordering = ["phone_prefix", "operator_code", "-weight", "provider"]
        verbose_name = "route"
        verbose_name_plural = "routes and providers"  # its page lists the providers too
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gt=0),
                name="route_weight_positive",
                violation_error_message="Weight must be 1 or more.",
            ),
            models.CheckConstraint(
                condition=Q(parts_per_second__isnull=True) | Q(parts_per_second__gt=0),
                name="route_parts_per_second_positive",
                violation_error_message="A route's parts per second must be 1 or more, or blank.",
            ),
            models.CheckConstraint(
                condition=Q(phone_prefix="") | Q(operator_code=""),
                name="route_prefix_or_operator",
                violation_error_message="A route takes a phone prefix or an operator code, not both.",
            ),
            models.UniqueConstraint(
                fields=["phone_prefix", "operator_code", "provider"],
                name="route_provider_once",
                violation_error_message="This route already names this provider.",
            ),
        ]

    def __str__(self) -> str:
        if self.phone_prefix:
            where = f"phones {self.phone_prefix}…"
        else:
            where = f"operator {self.operator_code}" if self.operator_code else "default route"
        return f"{where} → {self.provider} ({self.weight})"

    def clean(self) -> None:
        known = providers()
        if self.provider and self.provider not in known:
            raise ValidationError(
                {"provider": f"No provider is named {self.provider!r}; configured: {', '.join(known)}."}
            )
        if self.weight is not None and self.weight <= 0:
            raise ValidationError({"weight": "Weight must be 1 or more."})


class SsoIdentity(models.Model):
    """Who a person is at the identity provider (its issuer and their `sub`, which never changes),
    and their account here: single sign-on matches people on this, never on a mutable e-mail."""

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity")
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_issuer_subject")]
        verbose_name = "SSO identity"
        verbose_name_plural = "SSO identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
