"""Who may do what: tokens, sessions, model permissions, and the docs pages."""

import re
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as DjangoClient
from rest_framework.test import APIClient

from mailings.api.permissions import API_MODELS
from mailings.api.urls import router
from mailings.models import Client, Mailing, Message, Suppression
from tests.factories import ClientFactory, MessageFactory

pytestmark = pytest.mark.django_db

# (method, path template); {client}, {mailing}, {message} are filled with existing ids.
ENDPOINTS = [
    ("get", "/clients/"),
    ("post", "/clients/"),
    ("get", "/clients/{client}/"),
    ("put", "/clients/{client}/"),
    ("patch", "/clients/{client}/"),
    ("delete", "/clients/{client}/"),
    ("get", "/mailings/"),
    ("post", "/mailings/"),
    ("get", "/mailings/{mailing}/"),
    ("put", "/mailings/{mailing}/"),
    ("patch", "/mailings/{mailing}/"),
    ("delete", "/mailings/{mailing}/"),
    ("get", "/mailings/{mailing}/statistics/"),
    ("get", "/mailings/statistics/"),
    ("get", "/messages/"),
    ("post", "/messages/"),
    ("get", "/messages/{message}/"),
    ("put", "/messages/{message}/"),
    ("patch", "/messages/{message}/"),
    ("delete", "/messages/{message}/"),
]
WRITES = [(method, path) for method, path in ENDPOINTS if method != "get"]
READS = [(method, path) for method, path in ENDPOINTS if method == "get"]


@pytest.fixture
def objects():
    message = MessageFactory(status=Message.Status.PENDING, client=ClientFactory(tag="before"))
    Suppression.objects.create(phone_number="79139876543")
    return {"client": message.client_id, "mailing": message.mailing_id, "message": message.pk, "phone": "79139876543"}


def _bodies(objects) -> dict[str, dict]:
    """A valid body per resource, so that only the credentials can make a request fail."""
    return {
        "clients": {"phone_number": "79131234567", "timezone": "UTC", "tag": "after"},
        "mailings": {
            "start_datetime": "2030-01-01T09:00:00Z",
            "end_datetime": "2030-01-02T09:00:00Z",
            "message_text": "after",
        },
        "messages": {"mailing": objects["mailing"], "client": objects["client"], "status": "sent"},
        "suppressions": {"phone_number": "79131234567"},
    }


def _call(api: APIClient, method: str, path: str, objects: dict):
    url = path.format(**objects)
    if method in {"get", "delete"}:
        return getattr(api, method)(url)
    resource = url.strip("/").split("/")[0]
    return getattr(api, method)(url, _bodies(objects)[resource], format="json")


def _snapshot() -> tuple:
    return (
        list(Client.objects.values_list("id", "phone_number", "tag")),
        list(Mailing.objects.values_list("id", "message_text")),
        list(Message.objects.values_list("id", "status", "client_id")),
        list(Suppression.objects.values_list("phone_number", "reason")),
    )


class TestAnonymous:
    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    def test_it_answers_401_with_a_token_challenge(self, anon_api, objects, method, path):
        before = _snapshot()

        response = _call(anon_api, method, path, objects)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert "detail" in response.json()
        assert _snapshot() == before

    def test_it_answers_401_to_a_wrong_token(self, objects):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

        response = api.get("/clients/")

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": "Invalid token."}

    def test_it_answers_401_to_a_wrong_token_on_a_write(self, objects):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

        response = api.post("/clients/", {"phone_number": "79131234567", "timezone": "UTC"}, format="json")

        assert response.status_code == 401
        assert not Client.objects.filter(phone_number="79131234567").exists()


class TestNoPermissions:
    @pytest.mark.parametrize(("method", "path"), READS)
    def test_it_answers_403_to_every_read(self, noperm_api, objects, method, path):
        before = _snapshot()

        response = _call(noperm_api, method, path, objects)

        assert response.status_code == 403
        assert "detail" in response.json()
        assert _snapshot() == before

    @pytest.mark.parametrize(("method", "path"), WRITES)
    def test_it_answers_403_to_every_write(self, noperm_api, objects, method, path):
        before = _snapshot()

        response = _call(noperm_api, method, path, objects)

        assert response.status_code == 403
        assert "detail" in response.json()
        assert _snapshot() == before


class TestReadOnly:
    @pytest.mark.parametrize(("method", "path"), READS)
    def test_it_may_read_everything(self, readonly_api, objects, method, path):
        response = _call(readonly_api, method, path, objects)

        assert response.status_code == 200
        assert response.json()

    @pytest.mark.parametrize(("method", "path"), WRITES)
    def test_it_may_not_write(self, readonly_api, objects, method, path):
        before = _snapshot()

        response = _call(readonly_api, method, path, objects)

        assert response.status_code == 403
        assert "detail" in response.json()
        assert _snapshot() == before


class TestUnknownIds:
    @pytest.mark.parametrize(
        ("method", "path"),
        [(m, p) for m, p in ENDPOINTS if "{" in p],
    )
    def test_it_answers_404_for_an_unknown_id(self, admin_api, objects, method, path):
        before = _snapshot()
        missing = {name: 999999 for name in objects}

        response = _call(admin_api, method, path.format(**missing), objects)

        assert response.status_code == 404
        assert "No " in response.json()["detail"]
        assert _snapshot() == before

    def test_a_non_numeric_id_is_not_a_route(self, admin_api):
        response = admin_api.get("/clients/abc/")

        assert response.status_code == 404


class TestSessionAuth:
    def test_a_logged_in_superuser_may_use_the_api(self, client, django_user_model):
        ClientFactory(phone_number="79131234567")
        client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-123x"))

        response = client.get("/clients/")

        assert response.status_code == 200
        assert [item["phone_number"] for item in response.json()] == ["79131234567"]

    def test_a_session_write_needs_the_csrf_token(self, django_user_model):
        browser = DjangoClient(enforce_csrf_checks=True)
        browser.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-123x"))

        response = browser.post(
            "/clients/", {"phone_number": "79131234567", "timezone": "UTC"}, content_type="application/json"
        )

        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
        assert not Client.objects.exists()

    def test_a_logged_in_user_without_permissions_is_refused(self, client, django_user_model):
        client.force_login(django_user_model.objects.create_user("plain", password="pass-123x"))

        response = client.get("/clients/")

        assert response.status_code == 403


SCHEMA_REFUSAL = (
    "Reading the API and its schema needs the view permission of clients, mailings, messages or the "
    "do-not-contact list."
)


def _logged_in(django_user_model, *codenames: str) -> DjangoClient:
    """A browser with an admin session of a staff user holding only these permissions."""
    user = django_user_model.objects.create_user(username="staff", password="pass-123x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="mailings", codename__in=codenames))
    browser = DjangoClient()
    browser.force_login(user)
    return browser


class TestWhoMayReadTheApi:
    """`may_read_the_api`: authenticated, and the view permission of at least one of the API's models."""

    def test_its_models_are_the_ones_the_api_serves(self):
        served = {viewset.queryset.model._meta.label_lower for _, viewset, _ in router.registry}
        assert served == {f"mailings.{model}" for model in API_MODELS}

    @pytest.mark.parametrize("codename", ["view_client", "view_mailing", "view_message", "view_suppression"])
    def test_one_view_permission_is_enough_to_read_the_schema(self, token_with, codename):
        response = token_with(codename).get("/docs/schema/")

        assert response.status_code == 200
        assert response.content.decode().startswith("openapi:")

    @pytest.mark.parametrize(
        "codenames",
        [(), ("add_client", "change_mailing", "delete_message"), ("view_mailingstatistics",)],
        ids=["none", "writes-without-view", "admin-statistics-only"],
    )
    def test_without_a_view_permission_of_the_api_the_schema_is_refused(self, token_with, codenames):
        for query in ("", "?format=json"):
            response = token_with(*codenames).get(f"/docs/schema/{query}")

            assert response.status_code == 403
            assert response["Content-Type"] == "application/json"
            assert response.json() == {"detail": SCHEMA_REFUSAL}


class TestDocs:
    def test_the_docs_page_sends_anonymous_people_to_the_admin_login(self, client):
        response = client.get("/docs/")

        assert response.status_code == 302
        assert response["Location"] == "/admin/login/?next=/docs/"

    def test_the_docs_page_is_for_a_session_not_a_token(self, readonly_api):
        """Scripts read /docs/schema/; a token on the page meets the login page like any browser without a session."""
        response = readonly_api.get("/docs/")

        assert response.status_code == 302
        assert response["Location"] == "/admin/login/?next=/docs/"

    def test_the_docs_page_says_why_it_refuses_a_user_who_may_not_read_the_api(self, django_user_model):
        browser = _logged_in(django_user_model, "view_mailingstatistics")

        response = browser.get("/docs/")

        assert response.status_code == 403
        html = response.content.decode()
        assert SCHEMA_REFUSAL in html
        assert "swagger-ui" not in html
        assert browser.get("/docs/schema/").status_code == 403

    def test_the_docs_page_and_schema_open_to_a_session_that_may_read_one_model(self, django_user_model):
        browser = _logged_in(django_user_model, "view_message")

        assert browser.get("/docs/").status_code == 200
        schema = browser.get("/docs/schema/")
        assert schema.status_code == 200
        assert schema.content.decode().startswith("openapi:")

    def test_the_docs_page_serves_swagger_ui_from_local_static_files(self, client, django_user_model):
        client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-123x"))

        response = client.get("/docs/")

        assert response.status_code == 200
        html = response.content.decode()
        sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
        assert sources, html
        assert all(not src.startswith(("http://", "https://", "//")) for src in sources), sources
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
        scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', html)
        assert any("swagger-ui-bundle" in src for src in scripts)
        start_up = [src for src in scripts if not src.startswith("/static/")]
        assert start_up == ["/docs/?script="], scripts  # the page's own script, served apart (CSP)
        script = client.get(start_up[0])
        assert script["Content-Type"] == "application/javascript"
        assert '"/docs/schema/"' in script.content.decode()

    @pytest.mark.parametrize("query", ["", "?format=json"])
    def test_the_schema_answers_the_json_401_without_credentials(self, anon_api, query):
        response = anon_api.get(f"/docs/schema/{query}")

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": "Authentication credentials were not provided."}

    def test_the_schema_answers_401_to_a_wrong_token(self):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

        response = api.get("/docs/schema/")

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}

    def test_the_schema_is_refused_to_a_token_without_permissions(self, noperm_api):
        response = noperm_api.get("/docs/schema/")

        assert response.status_code == 403
        assert response.json() == {"detail": SCHEMA_REFUSAL}

    def test_the_schema_is_served_to_a_token(self, api):
        response = api.get("/docs/schema/")

        assert response.status_code == 200
        text = response.content.decode()
        assert text.startswith("openapi:")
        assert "/mailings/{id}/statistics/:" in text


# The providers' endpoints answer to a provider's secret, not to users' tokens and permissions
# (tests/api/test_inbound.py holds them to that secret; TestProviderEndpoints below, to no user).
PROVIDER_PATHS = ("/inbound/", "/providers/")


def _schema_operations(*, users: bool = True) -> list[tuple[str, str]]:
    """The schema's operations: the users' (`users=True`) or the providers'."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(
        (method, path)
        for path, item in paths.items()
        for method in item
        if method != "parameters" and path.startswith(PROVIDER_PATHS) != users
    )


def _schema_paths() -> list[str]:
    return sorted({path for _, path in _schema_operations()})


class TestProviderEndpoints:
    def test_the_schema_has_them(self):
        assert ("post", "/inbound/{provider}/") in _schema_operations(users=False)
        assert ("post", "/providers/{provider}/delivery-reports/") in _schema_operations(users=False)

    def test_no_user_token_or_session_is_a_provider_secret(self, settings, admin_api, django_user_model, objects):
        """A superuser's token, or a logged-in browser driven by a page elsewhere, records no reply."""
        settings.INBOUND_SECRET = "provider-secret-of-the-test"
        settings.DELIVERY_REPORT_SECRET = "report-secret-of-the-test"
        browser = DjangoClient(enforce_csrf_checks=True)
        browser.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-123x"))
        body = {"phone": "79001234568", "text": "STOP", "received_at": "2026-11-29T10:00:00Z"}
        before = _snapshot()
        for method, path in _schema_operations(users=False):
            url = path.replace("{provider}", "default")
            assert getattr(admin_api, method)(url, body, format="json").status_code == 401, path
            assert getattr(browser, method)(url, body, content_type="application/json").status_code == 401, path
        assert _snapshot() == before
        assert not Suppression.objects.filter(phone_number="79001234568").exists()


class TestEveryOperationOfTheSchema:
    """Whatever is added to the API later is held to the same doors (the list comes from the schema)."""

    @staticmethod
    def _url(path: str, objects: dict) -> str:
        resource = path.strip("/").split("/")[0]
        path = path.replace("{phone_number}", objects["phone"])
        return path.replace("{id}", str(objects.get(resource.rstrip("s"), objects["mailing"])))

    @pytest.mark.parametrize(("method", "path"), _schema_operations())
    def test_no_credentials_401_no_permission_403_read_only_cannot_write(
        self, anon_api, noperm_api, readonly_api, objects, method, path
    ):
        url = self._url(path, objects)
        before = _snapshot()
        assert getattr(anon_api, method)(url, {}, format="json").status_code == 401
        assert getattr(noperm_api, method)(url, {}, format="json").status_code == 403
        if method != "get":
            assert getattr(readonly_api, method)(url, {}, format="json").status_code == 403
        assert _snapshot() == before

    @pytest.mark.parametrize("path", _schema_paths())
    def test_options_asks_what_get_asks(self, anon_api, noperm_api, readonly_api, admin_api, token_with, objects, path):
        """OPTIONS describes an endpoint (its fields, what the user may send): 401 without credentials, 403
        without permissions, and for any other user the answer GET gets; on an endpoint without GET (the
        mailing controls) what its POST asks (`change_mailing`; a clone, `add_mailing` and `view_mailing`)."""
        url = self._url(path, objects)
        before = _snapshot()
        has_get = ("get", path) in _schema_operations()
        assert anon_api.options(url).status_code == 401
        assert noperm_api.options(url).status_code == 403
        assert admin_api.options(url).status_code == 200
        users = {
            "reader": readonly_api,
            **{
                codename: token_with(codename)
                for codename in ("view_client", "view_mailing", "change_mailing", "view_suppression")
            },
            "add_mailing": token_with("add_mailing", "view_mailing"),
        }
        post_needs = "add_mailing" if path.endswith("/clone/") else "change_mailing"
        if path.startswith("/suppressions/"):  # its DELETE's OPTIONS asks what its list's GET asks
            post_needs = "view_suppression"
        for name, user in users.items():
            expected = user.get(url).status_code if has_get else (200 if name == post_needs else 403)
            assert user.options(url).status_code == expected, name
        assert _snapshot() == before

    @pytest.mark.parametrize(("method", "path"), _schema_operations())
    def test_a_cross_site_request_with_a_staff_session_changes_nothing(
        self, django_user_model, objects, monkeypatch, method, path
    ):
        """A page elsewhere can make a logged-in browser GET or POST here, with the session cookie but
        without the CSRF token: a GET only reads (it queues no pass either), anything else is refused."""
        from backoffice.celery import app

        queued = []

        def send_task(name, *args, **kwargs):
            queued.append(name)
            return SimpleNamespace(id="not-sent")

        monkeypatch.setattr(app, "send_task", send_task)
        browser = DjangoClient(enforce_csrf_checks=True)
        browser.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pass-123x"))
        before = (_snapshot(), list(Mailing.objects.values_list("id", "status")))
        response = getattr(browser, method)(self._url(path, objects), {}, content_type="application/json")
        if method == "get":
            assert response.status_code == 200
        else:
            assert (response.status_code, "CSRF" in response.json().get("detail", "")) == (403, True)
        assert (_snapshot(), list(Mailing.objects.values_list("id", "status"))) == before
        assert queued == []

    def test_the_schema_lists_the_control_endpoints_too(self):
        operations = set(_schema_operations())
        assert {("post", "/mailings/{id}/pause/"), ("post", "/activate_mailing/"), ("get", "/activate_mailing/")} <= (
            operations
        )
