"""mozilla-django-oidc's backend, with what it leaves out: it checks the ID token's signature and
nonce, but not its issuer or audience, and PyJWT checks `exp` only when the token has one. Here
the token must name OIDC_ISSUER and our client id, carry `exp`, `iat` and `sub`, and be unexpired
(OIDC_CLOCK_SKEW seconds allowed); people are matched on (issuer, sub) by services.py.

Every refusal raises SsoRefused (not SuspiciousOperation, which the library turns into a silent
None): the callback view shows its reason, and Django's `user_login_failed` is not sent, so
django-axes counts no failed password for a sign-in that used none.
"""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils.encoding import smart_str
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from mailings.sso.discovery import provider
from mailings.sso.errors import SsoRefused
from mailings.sso.services import sso_user_sign_in

logger = logging.getLogger(__name__)


class SsoBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Not the library's __init__: it reads the endpoints from settings, and ours are discovered
        # on the first sign-in; this backend is also built on every request to read the session's user.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider().jwks_uri

    def get_user(self, user_id):
        """Django's: an account deactivated here is signed out at its next request (the library's is not)."""
        return ModelBackend.get_user(self, user_id)

    def authenticate(self, request, **kwargs):
        if not settings.SSO_ENABLED or "nonce" not in kwargs:
            return None  # a password sign-in, or SSO is off
        return super().authenticate(request, **kwargs)

    def get_token(self, payload):
        try:
            return super().get_token(payload)
        except requests.HTTPError as exc:
            logger.warning(
                "sso token request refused: %s", exc.response.text[:300] if exc.response is not None else exc
            )
            raise SsoRefused(
                "The identity provider refused this sign-in's code: it has expired or was used already. Sign in again."
            ) from exc
        except requests.RequestException as exc:
            raise SsoRefused(
                f"The identity provider did not answer ({type(exc).__name__}): try again later.", status=503
            ) from exc

    def verify_token(self, token, **kwargs):
        """The ID token: signed by the provider's key with OIDC_RP_SIGN_ALGO, from OIDC_ISSUER, for
        us, unexpired, with the nonce this browser's sign-in started with."""
        if not token:
            raise SsoRefused("The identity provider sent no ID token.")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
                raise SsoRefused(f"The ID token is signed with {header.get('alg')!r}, not OIDC_RP_SIGN_ALGO.")
            # HS*: signed with our client secret; RS*, ES*, PS*: with one of the provider's keys.
            hmac = self.OIDC_RP_SIGN_ALGO.startswith("HS")
            key = self.OIDC_RP_CLIENT_SECRET if hmac else self.retrieve_matching_jwk(token)
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                leeway=settings.OIDC_CLOCK_SKEW,
                options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SsoRefused("The ID token has expired (or this server's clock is wrong): sign in again.") from exc
        except jwt.InvalidAudienceError as exc:
            raise SsoRefused("The ID token was issued for another application (its `aud`).") from exc
        except jwt.InvalidTokenError as exc:
            raise SsoRefused(f"The ID token is not valid: {exc}.") from exc
        except requests.RequestException as exc:
            raise SsoRefused(
                "The identity provider's keys (JWKS) could not be read: try again later.", status=503
            ) from exc
        issuer = smart_str(payload["iss"]).rstrip("/")
        if issuer != settings.OIDC_ISSUER:
            raise SsoRefused(
                f"The ID token comes from {payload['iss']!r}, not from the identity provider set here (OIDC_ISSUER)."
            )
        if (
            isinstance(payload["aud"], list)
            and len(payload["aud"]) > 1
            and payload.get("azp") != self.OIDC_RP_CLIENT_ID
        ):
            raise SsoRefused("The ID token was issued to another application (its `azp`).")
        if payload.get("nonce") != kwargs.get("nonce"):
            raise SsoRefused("The ID token does not answer this sign-in (its nonce differs): sign in again.")
        return payload

    def retrieve_matching_jwk(self, token):
        """The provider's signing key for this token: the one with its `kid`, or, for a token without
        one (the library's version fails there with a KeyError), the provider's only signing key."""
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        kid, alg = jwt.get_unverified_header(token).get("kid"), self.OIDC_RP_SIGN_ALGO
        keys = [
            key
            for key in response.json().get("keys", [])
            if key.get("use", "sig") == "sig" and key.get("alg", alg) == alg and (kid is None or key.get("kid") == kid)
        ]
        if len(keys) != 1:
            raise SsoRefused(f"The identity provider has no single signing key for this ID token (kid {kid!r}).")
        return jwt.PyJWK(keys[0], algorithm=alg)

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, with what the userinfo endpoint adds (when the provider has one)."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        try:
            extra = super().get_userinfo(access_token, id_token, payload)
        except requests.RequestException as exc:
            raise SsoRefused(
                "The identity provider's userinfo endpoint did not answer: try again later.", status=503
            ) from exc
        if extra.get("sub") != payload["sub"]:
            raise SsoRefused("The identity provider's userinfo names another person than the ID token.")
        return {**extra, **payload}  # the signed token's claims win

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        return sso_user_sign_in(issuer=settings.OIDC_ISSUER, claims=claims)
