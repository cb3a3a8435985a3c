"""The ID token checks mozilla-django-oidc leaves out (issuer, audience, a required expiry), unit
tested with tokens signed here: a provider does not issue such tokens on request. The key lookup is
patched at its one choke point; the flow tests (test_sign_in.py) use the provider's real keys."""

import time
from unittest import mock

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mailings.sso.backend import SsoBackend
from mailings.sso.errors import SsoRefused

ISSUER, CLIENT = "https://id.example.com", "backoffice"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def backend(settings):
    settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_SIGN_ALGO = ISSUER, CLIENT, "RS256"
    settings.OIDC_RP_CLIENT_SECRET, settings.OIDC_CLOCK_SKEW = "s", 60
    backend = SsoBackend()
    with mock.patch.object(SsoBackend, "retrieve_matching_jwk", autospec=True, return_value=KEY.public_key()):
        yield backend


def token(**changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "s1", "iat": now, "exp": now + 300, "nonce": "n1", **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, KEY, algorithm="RS256")


class TestIdToken:
    def test_it_accepts_a_token_from_our_issuer_for_us(self, backend):
        assert backend.verify_token(token(), nonce="n1")["sub"] == "s1"

    def test_it_accepts_a_trailing_slash_on_the_issuer(self, backend):
        assert backend.verify_token(token(iss=ISSUER + "/"), nonce="n1")["sub"] == "s1"

    @pytest.mark.parametrize(
        ("changes", "says"),
        [
            ({"iss": "https://evil.example.com"}, "not from the identity provider set here"),
            ({"aud": "another-app"}, "issued for another application"),
            ({"aud": [CLIENT, "another-app"], "azp": "another-app"}, "issued to another application"),
            ({"exp": int(time.time()) - 120}, "has expired"),
            ({"exp": None}, 'missing the "exp" claim'),
            ({"iss": None}, 'missing the "iss" claim'),
            ({"nonce": "other"}, "nonce differs"),
        ],
    )
    def test_it_refuses(self, backend, changes, says):
        with pytest.raises(SsoRefused, match=says):
            backend.verify_token(token(**changes), nonce="n1")

    def test_with_hs256_it_checks_the_signature_with_our_secret(self, backend, settings):
        settings.OIDC_RP_SIGN_ALGO = "HS256"
        backend = SsoBackend()
        claims = jwt.decode(token(), options={"verify_signature": False})
        good = jwt.encode(claims, "s" * 32, algorithm="HS256")
        settings.OIDC_RP_CLIENT_SECRET = "s" * 32
        assert SsoBackend().verify_token(good, nonce="n1")["sub"] == "s1"
        with pytest.raises(SsoRefused, match="Signature verification failed"):
            backend.verify_token(jwt.encode(claims, "t" * 32, algorithm="HS256"), nonce="n1")

    def test_it_refuses_another_algorithm(self, backend):
        forged = jwt.encode({"iss": ISSUER, "aud": CLIENT, "sub": "s1"}, "secret", algorithm="HS256")
        with pytest.raises(SsoRefused, match="not OIDC_RP_SIGN_ALGO"):
            backend.verify_token(forged, nonce="n1")
