"""Operators see in the admin when the provider circuit holds sending."""

import pytest

from mailings.sending.circuit import Circuit, CircuitSettings

pytestmark = pytest.mark.django_db


class TestProviderBanner:
    def test_it_says_nothing_while_the_provider_answers(self, admin_client):
        response = admin_client.get("/admin/")
        assert response.status_code == 200
        assert b"provider-circuit" not in response.content

    def test_it_says_sending_is_held_and_why(self, admin_client):
        Circuit(CircuitSettings()).open("HTTP 401: the provider refused our token")
        content = admin_client.get("/admin/mailings/mailing/").content.decode()
        assert 'id="provider-circuit"' in content
        assert "HTTP 401: the provider refused our token" in content
