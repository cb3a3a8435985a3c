"""Operators see in the admin which provider's circuit holds sending through it."""

import pytest

from mailings.sending.circuit import Circuit, CircuitSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider_b(settings):
    settings.SENDING_PROVIDERS = {"b": {"url": "https://b.example/api", "token": "t", "enabled": True}}


class TestProviderBanner:
    def test_it_says_nothing_while_the_providers_answer(self, admin_client, provider_b):
        response = admin_client.get("/admin/")
        assert response.status_code == 200
        assert b"provider-circuit" not in response.content

    def test_it_says_sending_is_held_and_why(self, admin_client):
        Circuit(CircuitSettings()).open("HTTP 401: the provider refused our token")
        content = admin_client.get("/admin/mailings/mailing/").content.decode()
        assert 'id="provider-circuit-default"' in content
        assert "HTTP 401: the provider refused our token" in content

    def test_a_second_providers_open_circuit_is_shown_under_its_name(self, admin_client, provider_b):
        Circuit(CircuitSettings(), "b").open("HTTP 503")
        content = admin_client.get("/admin/").content.decode()
        assert 'id="provider-circuit-b"' in content
        assert "HTTP 503" in content
        assert 'id="provider-circuit-default"' not in content  # default answers: no banner for it

    def test_a_disabled_provider_has_no_banner(self, admin_client, settings):
        settings.SENDING_PROVIDERS = {"b": {"url": "https://b.example/api", "token": "t", "enabled": False}}
        Circuit(CircuitSettings(), "b").open("HTTP 503")
        assert b"provider-circuit" not in admin_client.get("/admin/").content
