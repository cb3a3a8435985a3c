"""Login brute force is limited (django-axes): a user name from one address is locked out after
AXES_FAILURE_LIMIT wrong passwords, even with the right password after that."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as Browser
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
PASSWORD = "the-right-pw-42"


@pytest.fixture
def olga(django_user_model):
    return django_user_model.objects.create_user(username="olga", password=PASSWORD, is_staff=True)


def attempt(browser: Browser, username: str, password: str):
    return browser.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_the_right_password_is_refused_after_too_many_wrong_ones(olga, settings):
    browser = Browser()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(browser, "olga", "guess").status_code == 200  # the form again, with an error
    assert attempt(browser, "olga", "guess").status_code == 429
    locked = attempt(browser, "olga", PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in browser.session
    assert browser.get("/admin/").status_code == 302  # still not logged in


def test_a_lockout_is_for_that_user_name_only(olga, django_user_model, settings):
    django_user_model.objects.create_user(username="ivan", password=PASSWORD, is_staff=True)
    browser = Browser()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(browser, "olga", "guess")
    assert attempt(browser, "ivan", PASSWORD).status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_a_success_resets_the_count(olga, settings):
    browser = Browser()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(browser, "olga", "guess")
    assert attempt(browser, "olga", PASSWORD).status_code == 302
    browser.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(browser, "olga", "guess")
    assert attempt(browser, "olga", PASSWORD).status_code == 302


def test_api_tokens_are_not_passwords_and_are_not_locked(olga, settings):
    olga.user_permissions.add(Permission.objects.get(codename="view_client"))
    browser = Browser()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(browser, "olga", "guess")
    token = Token.objects.create(user=olga)
    assert Browser().get("/clients/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_behind_a_proxy_the_lockout_follows_the_client_not_the_proxy(olga, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Browser(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(attacker, "olga", "guess")
    assert attempt(attacker, "olga", PASSWORD).status_code == 429
    # Olga, through the same proxy from her own address, still logs in.
    olga_browser = Browser(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert attempt(olga_browser, "olga", PASSWORD).status_code == 302
    # The attacker cannot dodge the lockout by writing an address of its own in front.
    spoofing = Browser(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.7")
    assert attempt(spoofing, "olga", PASSWORD).status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.2", "10.0.0.2"),
        (1, "203.0.113.7", "10.0.0.2", "203.0.113.7"),
        (1, "1.2.3.4, 203.0.113.7", "10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7, 10.0.0.1", "10.0.0.2", "203.0.113.7"),
        (2, "", "10.0.0.2", "10.0.0.2"),
    ],
)
def test_the_client_address_is_the_hop_before_our_proxies(settings, rf, proxies, forwarded, remote, expected):
    from backoffice.client_ip import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
