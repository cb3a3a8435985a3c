"""The Routes and providers page: operators edit routes, viewers read them; the providers listed
with their circuits, tokens shown only as set or missing."""

import pytest

from mailings.models import Route
from mailings.sending.circuit import Circuit, CircuitSettings

URL = "/admin/mailings/route/"
SECRET_B = "tok-b-Qx71-never-shown"  # pragma: allowlist secret


@pytest.fixture
def provider_b(settings):
    settings.SENDING_PROVIDERS = {
        "b": {"url": "https://b.example/api", "token": SECRET_B, "parts_per_second": 50.0, "enabled": True}
    }
    settings.SENDING_API_TOKEN = ""  # `default` without a token: shown as missing


@pytest.mark.django_db
class TestRoutesPage:
    def test_it_lists_the_providers_without_their_tokens(self, operator, provider_b):
        Circuit(CircuitSettings(), "b").open("HTTP 503 five times")
        Route.objects.create(operator_code="913", provider="b", weight=30)
        content = operator.get(URL).content.decode()
        assert "https://b.example/api" in content
        assert "HTTP 503 five times" in content
        assert "<td>set</td>" in content
        assert "<td>missing</td>" in content
        assert SECRET_B not in content
        assert "operator 913" in content

    def test_an_operator_adds_a_route(self, operator, provider_b):
        response = operator.post(
            f"{URL}add/", {"phone_prefix": "7913", "operator_code": "", "provider": "b", "weight": "70"}
        )
        assert response.status_code == 302
        assert Route.objects.filter(phone_prefix="7913", provider="b", weight=70).exists()

    def test_an_unknown_provider_is_refused_on_its_field(self, operator, provider_b):
        response = operator.post(
            f"{URL}add/", {"phone_prefix": "", "operator_code": "", "provider": "nobody", "weight": "5"}
        )
        assert response.status_code == 200
        assert "provider" in response.context["adminform"].form.errors
        assert not Route.objects.exists()

    def test_a_weight_of_zero_is_refused_on_its_field(self, operator, provider_b):
        response = operator.post(
            f"{URL}add/", {"phone_prefix": "", "operator_code": "", "provider": "b", "weight": "0"}
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "weight" in errors, errors
        assert not Route.objects.exists()

    def test_a_viewer_reads_the_routes_and_changes_none(self, viewer, provider_b):
        route = Route.objects.create(provider="b", weight=1)
        assert viewer.get(URL).status_code == 200
        assert viewer.get(f"{URL}add/").status_code == 403
        viewer.post(f"{URL}{route.pk}/change/", {"provider": "default", "weight": "9"})
        assert Route.objects.get(pk=route.pk).weight == 1


@pytest.mark.django_db
class TestRouteLimitOnThePage:
    def test_an_operator_sets_a_routes_limit_and_the_list_shows_it(self, operator, provider_b):
        form = operator.get(f"{URL}add/").content.decode()
        assert 'name="parts_per_second"' in form
        response = operator.post(
            f"{URL}add/",
            {"phone_prefix": "", "operator_code": "913", "provider": "b", "weight": "1", "parts_per_second": "20"},
        )
        assert response.status_code == 302
        assert Route.objects.get(operator_code="913").parts_per_second == 20
        content = operator.get(URL).content.decode()
        assert '<td class="field-route_limit">20</td>' in content

    def test_blank_saves_no_limit(self, operator, provider_b):
        response = operator.post(
            f"{URL}add/",
            {"phone_prefix": "", "operator_code": "913", "provider": "b", "weight": "1", "parts_per_second": ""},
        )
        assert response.status_code == 302
        assert Route.objects.get(operator_code="913").parts_per_second is None
        assert "provider&#x27;s limit only" in operator.get(URL).content.decode()

    def test_a_limit_of_zero_is_refused_on_its_field(self, operator, provider_b):
        response = operator.post(
            f"{URL}add/",
            {"phone_prefix": "", "operator_code": "913", "provider": "b", "weight": "1", "parts_per_second": "0"},
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "parts_per_second" in errors, errors
        assert not Route.objects.exists()
