"""The sign-in's two steps (mozilla-django-oidc's views, answering 404 while SSO is off) and the
refusal page: every way a sign-in can fail ends on a page that says why, never on a 500."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from mailings.sso.discovery import provider
from mailings.sso.errors import ProviderUnavailable, SsoRefused

logger = logging.getLogger(__name__)


def refusal(request: HttpRequest, reason: str, *, status: int = 403) -> HttpResponse:
    return render(
        request, "admin/sso_refused.html", {"reason": reason, "title": "You are not signed in"}, status=status
    )


class SsoStart(OIDCAuthenticationRequestView):
    """To the provider's authorization page, with state, nonce and a PKCE challenge kept in the session."""

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the library's reads the endpoint from settings: ours is discovered
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured here.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider().authorization_endpoint
        except ProviderUnavailable as exc:
            return refusal(request, exc.reason, status=exc.status)
        return super().get(request)


class SsoCallback(OIDCAuthenticationCallbackView):
    """Back from the provider: the library checks the state and exchanges the code (with the PKCE
    verifier); the backend checks the ID token and signs the person in (mailings/sso/backend.py)."""

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured here.")
        try:
            return super().get(request)
        except SsoRefused as exc:
            logger.warning("sso refused: %s", exc.reason)
            return refusal(request, exc.reason, status=exc.status)
        except SuspiciousOperation:
            logger.warning("sso refused: state not found in this session")
            return refusal(
                request,
                "This sign-in was not started in this browser, or was finished already (its state does not match). "
                "Sign in again.",
            )

    def login_success(self):
        # Roles are read at sign-in: the session ends after OIDC_SESSION_HOURS so that they are read again.
        response = super().login_success()
        self.request.session.set_expiry(round(settings.OIDC_SESSION_HOURS * 3600))
        return response

    def login_failure(self):
        error = self.request.GET.get("error")
        if error:
            said = self.request.GET.get("error_description") or error
            return refusal(self.request, f"The identity provider did not sign you in: {said}.")
        return refusal(self.request, "This sign-in was not started in this browser, or it has expired. Sign in again.")


def sso_logout(request: HttpRequest) -> HttpResponse | None:
    """For a session signed in through SSO: end it here and, where the provider offers RP-initiated
    logout, there too. None for any other session (the admin logs it out as usual)."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.SSO_ENABLED and id_token and request.method == "POST"):
        return None
    login_page = request.build_absolute_uri(reverse("admin:login"))
    auth.logout(request)
    try:
        end_session = provider().end_session_endpoint
    except ProviderUnavailable:
        end_session = ""
    if not end_session:
        return HttpResponseRedirect(login_page)
    query = {"id_token_hint": id_token, "post_logout_redirect_uri": login_page, "client_id": settings.OIDC_RP_CLIENT_ID}
    return HttpResponseRedirect(f"{end_session}?{urlencode(query)}")
