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
