"""Whatever is wrong with a request, the API answers JSON; the admin keeps its HTML pages."""

import pytest

from mailings.api.views import ClientViewSet
from mailings.models import Client

pytestmark = pytest.mark.django_db

TEN_MB = 10 * 1024 * 1024


def _json_error(response, status: int) -> str:
    assert (response.status_code, response["Content-Type"]) == (status, "application/json"), response.content[:200]
    return response.json()["detail"]


class TestABadBodyIsAJson400:
    @pytest.mark.parametrize(
        ("body", "content_type", "words"),
        [
            ("[" * 950 + "]" * 950, "application/json", "nested too deeply"),
            ('{"phone_number": ' * 5000 + "1" + "}" * 5000, "application/json", "nested too deeply"),
            ('{"phone_number": "7913', "application/json", "JSON parse error"),
            ('{"tag": "' + "x" * TEN_MB + '"}', "application/json", f"over {2_621_440} bytes"),
            ("tag=" + "x" * TEN_MB, "application/x-www-form-urlencoded", f"over {2_621_440} bytes"),
            ("&".join(f"f{i}=1" for i in range(1001)), "application/x-www-form-urlencoded", "more fields"),
            ("--x\r\nbad", "multipart/form-data", "Multipart form parse error"),
        ],
        ids=["nested-array", "nested-object", "cut-short", "10-MB-json", "10-MB-form", "1001-fields", "multipart"],
    )
    def test_it_names_what_is_wrong_and_writes_nothing(self, api, body, content_type, words):
        api.raise_request_exception = False
        response = api.generic("POST", "/clients/", body, content_type=content_type)
        assert words in _json_error(response, 400)
        assert not Client.objects.exists()


def test_a_server_error_is_json_on_the_api(api, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ClientViewSet, "list", fail)
    api.raise_request_exception = False
    assert "Server error" in _json_error(api.get("/clients/"), 500)


def test_the_admin_keeps_its_html_pages(admin_client):
    response = admin_client.post("/admin/mailings/client/add/", {"tag": "x" * TEN_MB})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    response = admin_client.get("/admin/no-such-page/")
    assert (response.status_code, response["Content-Type"].startswith("text/html")) == (404, True)
