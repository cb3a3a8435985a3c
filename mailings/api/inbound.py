"""`POST /inbound/<provider>/`: a provider delivers the replies people sent (STOP, START, anything).

Authenticated by the provider's own secret (`Authorization: Bearer <secret>`, compared in constant
time), not by a user's token: `inbound_secret(provider)` says which (mailings/inbound.py). An unknown
provider is a 404, a provider without a secret configured a 403, a missing or wrong secret a 401.
The body is one reply or a list of them; every reply is checked before any is recorded, so a
malformed delivery changes nothing and its 400 names the field (and the item's index in a list).
Requests are counted per provider (`INBOUND_RATE`); refused credentials per address.
"""

import logging
from datetime import UTC, timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from mailings import services
from mailings.api.fields import PhoneNumberField
from mailings.api.throttling import _FixedWindowThrottle
from mailings.inbound import inbound_providers, inbound_secret, secret_matches

logger = logging.getLogger(__name__)

MAX_REPLIES = 1000
# A reply stamped this far ahead of our clock is refused: the latest reply per phone decides, and a
# far-future STOP would outrank every later START.
MAX_CLOCK_AHEAD = timedelta(hours=1)


class InboundReplySerializer(serializers.Serializer):
    phone = PhoneNumberField(help_text="Who replied: 7 and ten digits (a number or a string).")
    text = serializers.CharField(
        max_length=1600, allow_blank=True, trim_whitespace=False, help_text="The reply as the person wrote it."
    )
    received_at = serializers.DateTimeField(
        default_timezone=UTC,
        help_text="When the provider received it (ISO 8601; without an offset, UTC). The latest reply per phone "
        "decides; at most an hour ahead of the back-office's clock.",
    )

    def validate_received_at(self, value):
        if value > timezone.now() + MAX_CLOCK_AHEAD:
            raise serializers.ValidationError("is more than an hour in the future.")
        return value


class InboundAnswerSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Replies in the body.")
    suppressed = serializers.IntegerField(help_text="Phones put on the do-not-contact list (an opt-out word).")
    unsuppressed = serializers.IntegerField(help_text="Phones taken off it (an opt-in word after a STOP reply).")
    ignored = serializers.IntegerField(
        help_text="Replies kept that changed nothing: not a word, a phone already on or off the list, an entry "
        "that is not a STOP reply's, or a reply older than the phone's latest STOP or START."
    )
    duplicates = serializers.IntegerField(help_text="Replies delivered before (same phone, time and text).")
    results = serializers.ListField(
        child=serializers.ChoiceField(choices=["suppressed", "unsuppressed", "ignored", "duplicate"]),
        help_text="What each reply did, in the order of the body.",
    )


class InboundSecretAuthentication(BaseAuthentication):
    """The provider's secret as a Bearer token; the provider is the URL's."""

    def authenticate(self, request):
        provider = request.parser_context["kwargs"].get("provider", "")
        if not inbound_secret(provider):
            raise exceptions.PermissionDenied(
                f"Replies from provider {provider!r} are not taken: its secret is not configured "
                "(INBOUND_SECRET for the default provider)."
            )
        header = get_authorization_header(request).split()
        if not header:
            return None
        if len(header) != 2 or header[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed("Send the provider's secret as: Authorization: Bearer <secret>.")
        try:
            presented = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Wrong secret for this provider.") from None
        if not secret_matches(provider=provider, presented=presented):
            raise exceptions.AuthenticationFailed("Wrong secret for this provider.")
        return AnonymousUser(), provider

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="inbound"'


class InboundSecretScheme(OpenApiAuthenticationExtension):
    target_class = InboundSecretAuthentication
    name = "providerSecret"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The provider's inbound secret (INBOUND_SECRET for `default`).",
        }


class HasProviderSecret(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.auth is not None


class PerProviderThrottle(_FixedWindowThrottle):
    scope = "inbound"
    who = "per provider"

    def bucket(self, request) -> str | None:
        return f"inbound:{request.auth}" if request.auth else None


def _parse(data) -> list[services.Reply]:
    """Every reply checked before any is kept: ValidationError naming the item and the field."""
    if isinstance(data, list):
        if not 1 <= len(data) <= MAX_REPLIES:
            raise exceptions.ValidationError({"non_field_errors": [f"Send from 1 to {MAX_REPLIES} replies."]})
        errors, items = {}, []
        for index, item in enumerate(data):
            serializer = InboundReplySerializer(data=item)
            if serializer.is_valid():
                items.append(serializer.validated_data)
            else:
                errors[str(index)] = serializer.errors
        if errors:
            raise exceptions.ValidationError(errors)
    else:
        serializer = InboundReplySerializer(data=data)
        serializer.is_valid(raise_exception=True)
        items = [serializer.validated_data]
    return [services.Reply(item["phone"], item["text"], item["received_at"]) for item in items]


class InboundRepliesView(APIView):
    authentication_classes = [InboundSecretAuthentication]
    permission_classes = [HasProviderSecret]
    throttle_classes = [PerProviderThrottle]
    parser_classes = [JSONParser]

    def initial(self, request, *args, **kwargs):
        if kwargs.get("provider") not in inbound_providers():
            raise exceptions.NotFound(f"No provider {kwargs.get('provider')!r} takes replies here.")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="inbound_replies_create",
        summary="A provider delivers replies (STOP, START, anything)",
        description="One reply or a list of them. An opt-out word (OPT_OUT_WORDS) puts the phone on the "
        "do-not-contact list; an opt-in word (OPT_IN_WORDS) takes it off if a STOP reply put it there. "
        "A reply delivered again changes nothing; the latest reply per phone decides.",
        parameters=[
            OpenApiParameter(
                "provider",
                str,
                OpenApiParameter.PATH,
                enum=inbound_providers(),
                description="Who delivers: `default` is the provider of SENDING_API_URL.",
            )
        ],
        request=PolymorphicProxySerializer(
            component_name="InboundReplies",
            serializers=[InboundReplySerializer, InboundReplySerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses=InboundAnswerSerializer,
        tags=["inbound"],
    )
    def post(self, request, provider: str) -> Response:
        replies = _parse(request.data)
        outcome = services.inbound_replies_record(provider=provider, replies=replies)
        counts = outcome.counts()
        # Counts only: the phones stay out of the logs.
        logger.info(
            "inbound replies from %s: %s", provider, " ".join(f"{k}:{v}" for k, v in counts.items()),
            extra={"count": counts["received"]},
        )  # fmt: skip
        return Response({**counts, "results": outcome.actions})
