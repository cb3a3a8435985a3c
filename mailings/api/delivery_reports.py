"""`POST /providers/<name>/delivery-reports/`: a provider reports what became of the messages it
took (delivered, undelivered, expired), the callback docs/provider-openapi.yaml offers it.

Authenticated by the provider's report secret (mailings/delivery_reports.py), not a user's
token: `X-Signature: sha256=<HMAC-SHA256 of the raw body>` or `Authorization: Bearer <secret>`.
An unknown provider is a 404, one without a secret configured a 403 naming the variable, a
missing or wrong credential a 401. The body is one report or a list of up to 1,000; every one is
checked before any is recorded, and a 400 names the field (and the item's index in a list).
"""

import logging
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.provider_settings import env_suffix
from mailings import services
from mailings.api.inbound import HasProviderSecret, PerProviderThrottle
from mailings.delivery_reports import bearer_matches, report_providers, report_secret, signature_matches
from mailings.providers import DEFAULT_PROVIDER

logger = logging.getLogger(__name__)

MAX_REPORTS = 1000
_BIGINT = 2**63 - 1


class DeliveryReportSerializer(serializers.Serializer):
    """The schema's description of a report; the endpoint checks each by hand (`_report`)."""

    id = serializers.IntegerField(min_value=1, max_value=_BIGINT, help_text="The msgId the message was sent with.")
    status = serializers.ChoiceField(
        choices=["delivered", "undelivered", "expired"],
        help_text="What became of the message; `expired` (the network gave up) counts as undelivered.",
    )
    error_code = serializers.CharField(
        max_length=100, allow_null=True, allow_blank=True, required=False, help_text="The provider's error code."
    )
    reported_at = serializers.DateTimeField(
        default_timezone=UTC,
        help_text="When the provider learnt it (ISO 8601; without an offset, UTC). Per message the latest report "
        "wins, in whatever order they come.",
    )


class DeliveryReportAnswerSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Reports in the body.")
    applied = serializers.IntegerField(help_text="Reports recorded: the latest so far for their message.")
    stale = serializers.IntegerField(help_text="Reports no later than the one recorded (a duplicate, or out of order).")
    late = serializers.IntegerField(
        help_text="Reports for messages sent more than DELIVERY_REPORT_TIMEOUT_HOURS ago: unknown for good."
    )
    unknown = serializers.IntegerField(help_text="Reports for no sent message of this provider.")


def _secret_variable(provider: str) -> str:
    suffix = "" if provider == DEFAULT_PROVIDER else f"_{env_suffix(provider)}"
    return f"DELIVERY_REPORT_SECRET{suffix}"


class ReportSecretAuthentication(BaseAuthentication):
    """The provider's report secret: a signature of the body, or the secret as a Bearer token."""

    def authenticate(self, request):
        provider = request.parser_context["kwargs"].get("provider", "")
        if not report_secret(provider):
            raise exceptions.PermissionDenied(
                f"Delivery reports from provider {provider!r} are not taken: {_secret_variable(provider)} is not set."
            )
        signature = request.META.get("HTTP_X_SIGNATURE")
        if signature is not None:
            if not signature_matches(provider=provider, body=request.body, presented=signature):
                raise exceptions.AuthenticationFailed("Wrong X-Signature: sha256=<hex HMAC-SHA256 of the body>.")
            return AnonymousUser(), provider
        header = get_authorization_header(request).split()
        if not header:
            return None
        if len(header) != 2 or header[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed("Sign the body (X-Signature) or send Authorization: Bearer <secret>.")
        try:
            presented = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Wrong secret for this provider.") from None
        if not bearer_matches(provider=provider, presented=presented):
            raise exceptions.AuthenticationFailed("Wrong secret for this provider.")
        return AnonymousUser(), provider

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="delivery-reports"'


class ReportSecretScheme(OpenApiAuthenticationExtension):
    target_class = ReportSecretAuthentication
    name = ["reportSignature", "reportBearer"]

    def get_security_requirement(self, auto_schema):
        return [{"reportSignature": []}, {"reportBearer": []}]  # either one

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Signature",
                "description": "sha256=<hex HMAC-SHA256 of the raw body keyed with the provider's report secret> "
                "(DELIVERY_REPORT_SECRET for `default`, DELIVERY_REPORT_SECRET_<NAME> for another).",
            },
            {"type": "http", "scheme": "bearer", "description": "The provider's report secret itself."},
        ]


class PerProviderReportThrottle(PerProviderThrottle):
    scope = "delivery_reports"

    def bucket(self, request) -> str | None:
        return f"delivery-reports:{request.auth}" if request.auth else None


_FIELDS = ("id", "status", "error_code", "reported_at")


# How far ahead of our clock a provider's report may be dated: clocks drift, but a report dated
# next year would win over every real one after it (the latest `reported_at` wins).
_FUTURE_SKEW = timedelta(hours=1)


def _in_utc(moment: datetime) -> tuple[datetime | None, str]:
    """The report's time in UTC (a time without offset is UTC), or why it cannot be one."""
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return None, "Send a date and time between the years 1 and 9999 in UTC."
    if moment > timezone.now() + _FUTURE_SKEW:
        return None, "This time is in the future; send when the provider learned the message's fate."
    return moment, ""


def _storable(text: str) -> bool:
    """Text PostgreSQL can store: no NUL, no unpaired surrogate (DRF's CharField refuses both too)."""
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)


_STATUSES = ("delivered", "undelivered", "expired")


def _report(item) -> tuple[services.DeliveryReport | None, dict]:
    """One report checked by hand: what DeliveryReportSerializer documents, at a fraction of its
    cost per item (a list of 1,000 is parsed in milliseconds). The report, or the errors by field."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Send an object: {id, status, error_code, reported_at}."]}
    errors: dict[str, list[str]] = {}
    for name in ("id", "status", "reported_at"):
        if item.get(name) is None:
            errors[name] = ["This field is required."]
    message_id = item.get("id")
    if isinstance(message_id, str) and message_id.isascii() and message_id.isdigit():
        message_id = int(message_id)
    if "id" not in errors and (isinstance(message_id, bool) or not isinstance(message_id, int)):
        errors["id"] = ["A valid integer is required (the message's msgId)."]
    elif "id" not in errors and not 1 <= message_id <= _BIGINT:
        errors["id"] = [f"Must be from 1 to {_BIGINT}."]
    status = item.get("status")
    if "status" not in errors and status not in _STATUSES:
        errors["status"] = [f"{str(status)[:40]!r} is not one of: {', '.join(_STATUSES)}."]
    error_code = item.get("error_code")
    if (error_code is not None and not isinstance(error_code, str | int)) or isinstance(error_code, bool):
        errors["error_code"] = ["Send a string or null."]
    elif error_code is not None and len(str(error_code)) > 100:
        errors["error_code"] = ["Ensure this field has no more than 100 characters."]
    elif isinstance(error_code, str) and not _storable(error_code):
        errors["error_code"] = ["Null characters and unpaired surrogates are not allowed."]
    reported_at = item.get("reported_at")
    parsed = None
    if "reported_at" not in errors:
        try:
            parsed = parse_datetime(reported_at) if isinstance(reported_at, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            errors["reported_at"] = ["Send a date and time in ISO 8601 (2026-11-30T10:00:00Z)."]
        else:
            parsed, problem = _in_utc(parsed)
            if problem:
                errors["reported_at"] = [problem]
    if errors:
        return None, errors
    code = "" if error_code is None else str(error_code)
    return services.DeliveryReport(message_id, status, code, parsed), {}


def _parse(data) -> list[services.DeliveryReport]:
    """Every report checked before any is recorded: ValidationError naming the item and the field."""
    if not isinstance(data, list):
        report, errors = _report(data)
        if errors:
            raise exceptions.ValidationError(errors)
        return [report]
    if not 1 <= len(data) <= MAX_REPORTS:
        raise exceptions.ValidationError({"non_field_errors": [f"Send from 1 to {MAX_REPORTS} reports."]})
    reports, errors = [], {}
    for index, item in enumerate(data):
        report, problems = _report(item)
        if problems:
            errors[str(index)] = problems
        reports.append(report)
    if errors:
        raise exceptions.ValidationError(errors)
    return reports


class DeliveryReportsView(APIView):
    authentication_classes = [ReportSecretAuthentication]
    permission_classes = [HasProviderSecret]
    throttle_classes = [PerProviderReportThrottle]
    parser_classes = [JSONParser]

    def initial(self, request, *args, **kwargs):
        if kwargs.get("provider") not in report_providers():
            raise exceptions.NotFound(f"No provider {kwargs.get('provider')!r} posts delivery reports here.")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="delivery_reports_create",
        summary="A provider reports deliveries (delivered, undelivered, expired)",
        description="One report or a list of up to 1,000. A report applies to a sent message of this provider, "
        "sent less than DELIVERY_REPORT_TIMEOUT_HOURS ago, when it is later than the one recorded: the latest "
        "wins and a duplicate changes nothing. Reports for other messages are counted, not refused.",
        parameters=[
            OpenApiParameter(
                "provider",
                str,
                OpenApiParameter.PATH,
                enum=report_providers(),
                description="Who reports: `default` is the provider of SENDING_API_URL.",
            )
        ],
        request=PolymorphicProxySerializer(
            component_name="DeliveryReports",
            serializers=[DeliveryReportSerializer, DeliveryReportSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses=DeliveryReportAnswerSerializer,
        tags=["providers"],
    )
    def post(self, request, provider: str) -> Response:
        reports = _parse(request.data)
        counts = services.delivery_reports_apply(provider=provider, reports=reports, now=timezone.now())
        level = logging.WARNING if counts["unknown"] else logging.INFO
        logger.log(
            level, "delivery reports from %s: %s", provider, " ".join(f"{k}:{v}" for k, v in counts.items()),
            extra={"count": counts["received"]},
        )  # fmt: skip
        return Response(counts)
