"""Every error the API returns is JSON that names the field and the reason.

Services raise Django's `ValidationError` (from `full_clean()`) and our
`ConflictError`; this handler turns them into DRF's 400 and 409 answers. A request
refused for its credentials (401) is counted against its address's rate here, and past
it answered 429 (mailings/api/throttling.py).
What Django answers itself (a body over `DATA_UPLOAD_MAX_MEMORY_SIZE`, too many
fields, no route, a server error) is JSON too on the API's paths: the URLconf's
handlers below.
"""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from mailings.api.throttling import PerAddressThrottle, RateLimited
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


def _counted_per_address(exc: exceptions.APIException, context) -> exceptions.APIException:
    """DRF checks throttles only once the credentials and the permissions have passed, so a
    request without valid credentials never reaches them: it is counted here instead."""
    request = context.get("request")
    if request is None:
        return exc
    try:
        PerAddressThrottle().allow_request(request, context.get("view"))
    except RateLimited as limited:
        return limited
    return exc


def api_exception_handler(exc, context):
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        exc = _counted_per_address(exc, context)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, ConflictError):
        exc = Conflict(str(exc))
    elif isinstance(exc, RedisError | KombuOperationalError):
        exc = InfrastructureUnavailable()
    elif isinstance(exc, IntegrityError):
        # Two requests raced past validation (e.g. the same phone twice): the database said no.
        exc = Conflict("The change conflicts with data saved at the same moment; reload and try again.")
    return exception_handler(exc, context)


def _for_people(request) -> bool:
    return request.path.startswith(("/admin/", "/docs/"))


def _bad_request_detail(exception) -> str:
    if isinstance(exception, RequestDataTooBig):
        return f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, more than the API reads."
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return "The request has more fields or files than the API reads."
    return "Bad request."


def bad_request(request, exception=None):
    """What Django refuses before the view can (a body too big, too many fields): JSON on the API's paths."""
    if _for_people(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": _bad_request_detail(exception)}, status=400)


def permission_denied(request, exception=None):
    """A refusal: for staff, a page in the admin's look that says why when the refusal does."""
    if not _for_people(request):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    context = {"exception": str(exception or "")}
    if getattr(request.user, "is_staff", False):
        context.update(admin.site.each_context(request))
    return render(request, "403.html", {**context, "title": "Not allowed"}, status=403)


def not_found(request, exception=None):
    """A path no route matches: JSON for the API's clients, the usual page for people."""
    if _for_people(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "No such path (an id is a whole number, such as /clients/12/)."}, status=404)


def server_error(request):
    if _for_people(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Server error (it is logged)."}, status=500)
