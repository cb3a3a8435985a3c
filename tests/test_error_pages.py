"""With DEBUG on, Django's error pages show the settings and the request: no credential in them."""

import pytest

from mailings.api.views import ClientViewSet

pytestmark = pytest.mark.django_db

PASSWORDS = {
    "DATABASE_URL": "postgres://app:Db-pa55word@db:5432/app",  # pragma: allowlist secret
    "CELERY_BROKER_URL": "redis://:Br0ker-pa55@redis:6379/0",  # pragma: allowlist secret
    "CACHE_URL": "rediss://cache:Cache-pa55@redis:6380/1",  # pragma: allowlist secret
}


@pytest.fixture
def debug_with_credentials(settings):
    """DEBUG on, and the URLs with passwords where the development server shows them:
    the settings, and the environment it copies into every request's META."""
    settings.DEBUG = True
    settings.CELERY_BROKER_URL = PASSWORDS["CELERY_BROKER_URL"]
    settings.CACHES = {**settings.CACHES, "other": {"BACKEND": "x", "LOCATION": PASSWORDS["CACHE_URL"]}}
    return PASSWORDS


def _assert_no_credential(page: str, *hidden: str):
    for secret in ["Db-pa55word", "Br0ker-pa55", "Cache-pa55", *hidden]:
        assert secret not in page
    # What is shown is still useful: which URL, with its user and host.
    assert "postgres://app:********@db:5432/app" in page
    assert "redis://:********@redis:6379/0" in page


def test_the_technical_500_page(debug_with_credentials, api, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ClientViewSet, "list", fail)
    api.raise_request_exception = False
    response = api.get("/clients/", **debug_with_credentials)
    page = response.content.decode()
    assert (response.status_code, "RuntimeError" in page, "CELERY_BROKER_URL" in page) == (500, True, True)
    token = api._credentials["HTTP_AUTHORIZATION"].split()[1]
    _assert_no_credential(page, token)
    assert "rediss://cache:********@redis:6380/1" in page


def test_the_disallowed_host_page(debug_with_credentials, client):
    response = client.get("/clients/", HTTP_HOST="evil.example", **debug_with_credentials)
    page = response.content.decode()
    assert (response.status_code, "DisallowedHost" in page) == (400, True)
    _assert_no_credential(page)


class TestForbidden:
    """A refusal is a page in the admin's look saying why (backoffice/urls.py handler403), JSON on the API."""

    def test_staff_get_the_admin_look_with_the_sidebar(self, django_user_model, client):
        user = django_user_model.objects.create_user(username="bare", password="pw-123456", is_staff=True)
        client.force_login(user)
        response = client.get("/admin/mailings/mailing/")
        page = response.content.decode()
        assert response.status_code == 403
        assert '<div id="site-name"><a href="/admin/">Mailing back-office</a></div>' in page
        assert 'id="refusal-reason"' in page
        assert "Your account may not open this page" in page
        assert 'id="nav-sidebar"' in page

    def test_a_refusal_that_says_why_is_shown_as_said(self, django_user_model, client):
        user = django_user_model.objects.create_user(username="bare", password="pw-123456", is_staff=True)
        client.force_login(user)
        page = client.get("/admin/sending-schedule/").content.decode()
        assert "Viewing the sending schedule needs the permission to view periodic tasks." in page

    def test_debug_keeps_the_same_page(self, settings, django_user_model, client):
        settings.DEBUG = True
        user = django_user_model.objects.create_user(username="bare", password="pw-123456", is_staff=True)
        client.force_login(user)
        assert 'id="refusal-reason"' in client.get("/admin/mailings/mailing/").content.decode()
