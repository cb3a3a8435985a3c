"""Rate limits of the API, counted in the real Redis: per user (its token), and per client
address for requests without valid credentials; past them a JSON 429 with Retry-After."""

import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from mailings.api.views import ClientViewSet
from mailings.models import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(*, user: str = "100000/minute", anon: str = "100000/minute") -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": user, "anon": anon}}

    return set_rates


def assert_throttled(response, *, retry_after: int, limit: str) -> dict:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(retry_after)
    body = response.json()
    assert set(body) == {"detail"}
    assert limit in body["detail"]
    assert f"Try again in {retry_after} s" in body["detail"]
    return body


def statuses(client: APIClient, count: int, path: str = "/clients/", **extra) -> list[int]:
    return [client.get(path, **extra).status_code for _ in range(count)]


class TestPerUser:
    def test_a_token_past_its_rate_is_answered_429_with_retry_after_and_the_limit(self, api, rates, frozen_clock):
        rates(user="3/minute")
        assert statuses(api, 3) == [200, 200, 200]
        frozen_clock.advance(15)
        assert_throttled(api.get("/clients/"), retry_after=45, limit="3 a minute per user")
        assert_throttled(api.get("/mailings/statistics/"), retry_after=45, limit="3 a minute per user")

    def test_another_token_is_not_affected(self, api, readonly_api, rates, frozen_clock):
        rates(user="3/minute")
        assert statuses(api, 4) == [200, 200, 200, 429]
        assert statuses(readonly_api, 3) == [200, 200, 200]
        assert statuses(api, 1) == [429]

    def test_the_next_window_takes_requests_again(self, api, rates, frozen_clock):
        rates(user="3/minute")
        assert statuses(api, 4) == [200, 200, 200, 429]
        frozen_clock.advance(59.7)  # the window's last moment
        assert_throttled(api.get("/clients/"), retry_after=1, limit="3 a minute")
        frozen_clock.advance(0.1)
        assert statuses(api, 3) == [200, 200, 200]

    def test_a_refused_write_writes_nothing(self, api, rates, frozen_clock):
        rates(user="1/minute")
        assert api.get("/clients/").status_code == 200
        response = api.post("/clients/", {"phone_number": "79131234567", "timezone": "UTC"}, format="json")
        assert response.status_code == 429
        assert not Client.objects.exists()

    def test_the_users_admin_session_shares_its_tokens_allowance(self, api, rates, frozen_clock):
        rates(user="3/minute")
        assert statuses(api, 3) == [200, 200, 200]
        session = APIClient()
        session.force_login(get_user_model().objects.get(username="integration"))
        assert session.get("/clients/").status_code == 429

    def test_a_real_second_later_requests_pass_again(self, api, rates):
        """The real clock and Redis' own expiry: three requests inside one second, then the next."""
        rates(user="2/second")
        for _ in range(5):
            time.sleep(1.02 - time.time() % 1)  # just after a second begins
            started = time.time()
            seen = statuses(api, 3)
            if int(time.time()) == int(started):
                break
        else:
            pytest.fail("three requests never fitted in one second")
        assert seen == [200, 200, 429]
        time.sleep(1.02 - time.time() % 1)
        assert statuses(api, 2) == [200, 200]


class TestPerAddress:
    def test_requests_without_valid_credentials_are_counted_per_address(self, rates, frozen_clock):
        rates(anon="3/minute")
        wrong = APIClient()
        wrong.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
        assert statuses(APIClient(), 2) == [401, 401]
        assert statuses(wrong, 1) == [401]
        limit = "3 a minute per client address without valid credentials"
        assert_throttled(wrong.get("/clients/"), retry_after=60, limit=limit)
        assert_throttled(APIClient().post("/clients/", {}, format="json"), retry_after=60, limit=limit)
        schema = APIClient().get("/docs/schema/")  # answered in the schema's own format
        assert (schema.status_code, schema["Retry-After"]) == (429, "60")

    def test_another_address_and_a_valid_token_are_not_affected(self, api, rates, frozen_clock):
        rates(anon="2/minute")
        assert statuses(APIClient(), 3) == [401, 401, 429]
        assert statuses(APIClient(), 2, REMOTE_ADDR="192.0.2.7") == [401, 401]
        assert statuses(api, 2) == [200, 200]  # from the address that is refused anonymously

    def test_the_next_window_takes_requests_again(self, rates, frozen_clock):
        rates(anon="2/minute")
        assert statuses(APIClient(), 3) == [401, 401, 429]
        frozen_clock.advance(60)
        assert statuses(APIClient(), 2) == [401, 401]

    def test_an_endpoint_open_to_anyone_counts_per_address_too(self, rates, frozen_clock, monkeypatch):
        """None is open today: the throttle classes count there what the 401s count elsewhere."""
        monkeypatch.setattr(ClientViewSet, "permission_classes", [AllowAny])
        rates(anon="2/minute")
        assert statuses(APIClient(), 3) == [200, 200, 429]

    def test_behind_proxies_the_client_address_counts_not_the_proxys(self, rates, frozen_clock, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        rates(anon="2/minute")
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        first = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
        assert statuses(APIClient(), 3, **first) == [401, 401, 429]
        assert statuses(APIClient(), 2, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.6") == [401, 401]
        # An address the client writes itself in front does not make it someone else.
        assert statuses(APIClient(), 1, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5") == [429]


class TestWithoutTheCache:
    @pytest.fixture
    def no_cache(self, settings):
        """A Redis that refuses connections: nothing listens on port 1."""
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}

    def test_requests_go_through_uncounted(self, api, rates, no_cache, caplog):
        rates(user="1/minute", anon="1/minute")
        assert statuses(api, 3) == [200, 200, 200]
        assert statuses(APIClient(), 2) == [401, 401]
        assert "API request not counted against its rate" in caplog.text
