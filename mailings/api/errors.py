"""Every error the API returns is JSON that names the field and the reason.

Services raise Django's `ValidationError` (from `full_clean()`) and our
`ConflictError`; this handler turns them into DRF's 400 and 409 answers.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from mailings.errors import ConflictError


class InfrastructureUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The broker or the cache does not answer; sending catches up once it is back."
    default_code = "unavailable"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        detail = exc.message_dict
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        return detail
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, ConflictError):
        exc = Conflict(str(exc))
    elif isinstance(exc, RedisError | KombuOperationalError):
        exc = InfrastructureUnavailable()
    elif isinstance(exc, IntegrityError):
        # Two requests raced past validation (e.g. the same phone twice): the database said no.
        exc = Conflict("The change conflicts with data saved at the same moment; reload and try again.")
    return exception_handler(exc, context)


def not_found(request, exception=None):
    """A path no route matches: JSON for the API's clients, the usual page for people."""
    if request.path.startswith(("/admin/", "/docs/")):
        return page_not_found(request, exception)
    return JsonResponse({"detail": "No such path (an id is a whole number, such as /clients/12/)."}, status=404)
