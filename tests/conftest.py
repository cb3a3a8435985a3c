"""Shared fixtures: API clients authenticated by token, with and without permissions."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def _user_with(django_user_model, username: str, codenames: list[str]):
    user = django_user_model.objects.create_user(username=username, password="irrelevant-pass-123")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="mailings", codename__in=codenames))
    return user


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


INTEGRATION_PERMS = [
    f"{action}_{model}" for model in ("client", "mailing") for action in ("view", "add", "change", "delete")
] + ["view_message"]


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def api(django_user_model) -> APIClient:
    """An ordinary integration token: full rights on clients and mailings, read-only messages."""
    return _token_client(_user_with(django_user_model, "integration", INTEGRATION_PERMS))


@pytest.fixture
def admin_api(django_user_model) -> APIClient:
    """A superuser's token: may write messages too."""
    return _token_client(
        django_user_model.objects.create_superuser(username="root", email="root@example.com", password="pass-123x")
    )


@pytest.fixture
def readonly_api(django_user_model) -> APIClient:
    """A token that may only read."""
    return _token_client(_user_with(django_user_model, "reader", ["view_client", "view_mailing", "view_message"]))


@pytest.fixture
def noperm_api(django_user_model) -> APIClient:
    """An authenticated token without any permission."""
    return _token_client(_user_with(django_user_model, "nobody", []))
