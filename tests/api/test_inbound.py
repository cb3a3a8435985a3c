"""`POST /inbound/<provider>/`: the provider's secret, the body's checks, what STOP and START do,
and deliveries repeated or out of order."""

import random
from datetime import UTC, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from mailings import services
from mailings.inbound import is_opt_in, is_opt_out
from mailings.models import InboundReply, Suppression

SECRET = "inbound-secret-for-tests"
URL = "/inbound/default/"
PHONE = "79001234567"

_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
_FIELDS = {
    "phone": st.sampled_from(["79001234567", 79001234568, "+7 900 123-45-69", "8", ""]) | _SCALARS,
    "text": st.sampled_from(["STOP", "start", "СТОП!", "hi"]) | _SCALARS,
    "received_at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01", "now"]) | _SCALARS,
}
_REPLY = st.fixed_dictionaries({}, optional=_FIELDS)
JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner))
JSON = _REPLY | st.lists(_REPLY | JSON, max_size=4) | JSON


@pytest.fixture
def provider(settings) -> APIClient:
    settings.INBOUND_SECRET = SECRET
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    return client


def _at(minutes: int) -> str:
    return (timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)).isoformat()


def _reply(text: str, minutes: int = 0, phone: str = PHONE) -> dict:
    return {"phone": phone, "text": text, "received_at": _at(minutes)}


def _listed(phone: str = PHONE) -> bool:
    return Suppression.objects.filter(phone_number=phone).exists()


class TestWords:
    @pytest.mark.parametrize("text", ["STOP", "stop", "  Stop!  ", "СТОП", "стоп.", "Отписаться", "unsubscribe?!"])
    def test_it_reads_opt_out_words(self, text):
        assert is_opt_out(text)
        assert not is_opt_in(text)

    @pytest.mark.parametrize("text", ["START", "start!", "Старт"])
    def test_it_reads_opt_in_words(self, text):
        assert is_opt_in(text)
        assert not is_opt_out(text)

    @pytest.mark.parametrize("text", ["", "STOP it", "please stop", "STOPP", "S T O P", "!STOP"])
    def test_other_texts_are_no_words(self, text):
        assert not is_opt_out(text)
        assert not is_opt_in(text)

    def test_the_words_are_configurable(self, settings):
        settings.OPT_OUT_WORDS = ["halt"]
        settings.OPT_IN_WORDS = ["Resume"]
        assert is_opt_out("HALT")
        assert not is_opt_out("STOP")
        assert is_opt_in("resume.")


@pytest.mark.django_db
class TestAuth:
    def test_an_unknown_provider_is_a_json_404(self, provider):
        response = provider.post("/inbound/acme/", _reply("STOP"), format="json")
        assert response.status_code == 404
        assert "acme" in response.json()["detail"]

    def test_without_a_configured_secret_it_refuses(self, settings):
        settings.INBOUND_SECRET = ""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer ")
        response = client.post(URL, _reply("STOP"), format="json")
        assert response.status_code == 403
        assert "INBOUND_SECRET" in response.json()["detail"]
        assert not _listed()

    @pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {SECRET}", f"Bearer {SECRET}x", "Bearer"])
    def test_a_missing_or_wrong_secret_is_a_401(self, settings, header):
        settings.INBOUND_SECRET = SECRET
        client = APIClient()
        if header is not None:
            client.credentials(HTTP_AUTHORIZATION=header)
        response = client.post(URL, _reply("STOP"), format="json")
        assert response.status_code == 401, response.content
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert not _listed()
        assert not InboundReply.objects.exists()

    def test_a_user_token_is_not_the_provider_secret(self, api, settings):
        settings.INBOUND_SECRET = SECRET
        assert api.post(URL, _reply("STOP"), format="json").status_code == 401


@pytest.mark.django_db
class TestBody:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"text": "STOP", "received_at": _at(0)}, "phone"),
            ({"phone": "123", "text": "STOP", "received_at": _at(0)}, "phone"),
            ({"phone": True, "text": "STOP", "received_at": _at(0)}, "phone"),
            ({"phone": PHONE, "received_at": _at(0)}, "text"),
            ({"phone": PHONE, "text": "a\x00b", "received_at": _at(0)}, "text"),
            ({"phone": PHONE, "text": "x" * 1601, "received_at": _at(0)}, "text"),
            ({"phone": PHONE, "text": "STOP"}, "received_at"),
            ({"phone": PHONE, "text": "STOP", "received_at": "yesterday"}, "received_at"),
            ({"phone": PHONE, "text": "STOP", "received_at": (timezone.now() + timedelta(days=2)).isoformat()},
             "received_at"),
        ],
    )  # fmt: skip
    def test_a_malformed_reply_is_a_400_naming_the_field(self, provider, body, field):
        response = provider.post(URL, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not _listed()
        assert not InboundReply.objects.exists()

    def test_in_a_list_it_names_the_item_and_changes_nothing(self, provider):
        body = [_reply("STOP"), _reply("STOP", phone="79001112233"), {"phone": "1", "text": "STOP"}]
        response = provider.post(URL, body, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"2"}
        assert set(response.json()["2"]) == {"phone", "received_at"}
        assert not Suppression.objects.exists()
        assert not InboundReply.objects.exists()

    @pytest.mark.parametrize("body", [[], "STOP", 5, None, [[]], [5]])
    def test_other_shapes_are_a_400(self, provider, body):
        response = provider.post(URL, body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()

    def test_a_lone_surrogate_is_a_400_naming_the_text(self, provider):
        raw = f'{{"phone": "{PHONE}", "text": "a\\ud800b", "received_at": "{_at(0)}"}}'
        response = provider.post(URL, raw, content_type="application/json")
        assert response.status_code == 400
        assert "text" in response.json()

    def test_a_time_without_an_offset_is_utc(self, provider, settings):
        settings.TIME_ZONE = "Asia/Vladivostok"
        stamp = (timezone.now() - timedelta(hours=2)).replace(tzinfo=None, microsecond=0)
        provider.post(URL, {"phone": PHONE, "text": "STOP", "received_at": stamp.isoformat()}, format="json")
        assert InboundReply.objects.get().received_at == stamp.replace(tzinfo=UTC)

    @given(body=JSON)
    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_whatever_json_it_is_sent_it_answers_200_or_400(self, provider, body):
        with transaction.atomic():
            response = provider.post(URL, body, format="json")
            transaction.set_rollback(True)
        assert response.status_code in (200, 400), response.content
        assert isinstance(response.json(), dict)

    def test_a_body_that_is_not_json_is_a_400(self, provider):
        response = provider.post(URL, "{not json", content_type="application/json")
        assert response.status_code == 400


@pytest.mark.django_db
class TestReplies:
    def test_stop_puts_the_phone_on_the_list_as_a_stop_reply(self, provider):
        response = provider.post(URL, _reply("Stop."), format="json")
        assert response.status_code == 200
        assert response.json() == {
            "received": 1, "suppressed": 1, "unsuppressed": 0, "ignored": 0, "duplicates": 0,
            "results": ["suppressed"],
        }  # fmt: skip
        entry = Suppression.objects.get()
        assert (entry.phone_number, entry.reason, entry.source) == (PHONE, "stop", "inbound default")

    def test_start_after_stop_takes_it_off(self, provider):
        provider.post(URL, _reply("STOP", 0), format="json")
        response = provider.post(URL, _reply("START", 1), format="json")
        assert response.json()["unsuppressed"] == 1
        assert not _listed()

    def test_start_leaves_a_complaint_or_manual_entry(self, provider):
        services.suppression_add(phone_number=PHONE, reason=Suppression.Reason.COMPLAINT, source="phone call")
        response = provider.post(URL, [_reply("STOP", 0), _reply("START", 1)], format="json")
        assert response.json()["results"] == ["ignored", "ignored"]
        assert Suppression.objects.get().reason == "complaint"

    def test_other_texts_are_kept_and_change_nothing(self, provider):
        response = provider.post(URL, [_reply("Thanks!"), _reply("stop please", 1)], format="json")
        assert response.json()["ignored"] == 2
        assert InboundReply.objects.count() == 2
        assert not _listed()

    def test_a_delivery_repeated_changes_nothing(self, provider):
        stop = _reply("STOP", 0)
        provider.post(URL, stop, format="json")
        provider.post(URL, _reply("START", 1), format="json")
        again = provider.post(URL, [stop, stop], format="json")
        assert again.json()["duplicates"] == 2
        assert again.json()["results"] == ["duplicate", "duplicate"]
        assert not _listed()
        assert InboundReply.objects.count() == 2

    def test_a_stop_repeated_after_an_operator_lifted_it_changes_nothing(self, provider):
        stop = _reply("STOP", 0)
        provider.post(URL, stop, format="json")
        services.suppression_remove(phone_number=PHONE)  # an operator's decision
        assert provider.post(URL, stop, format="json").json()["results"] == ["duplicate"]
        assert not _listed()

    def test_an_older_stop_arriving_after_a_start_does_not_suppress(self, provider):
        provider.post(URL, _reply("START", 5), format="json")
        response = provider.post(URL, _reply("STOP", 1), format="json")  # received earlier, delivered late
        assert response.json()["results"] == ["ignored"]
        assert not _listed()

    def test_in_one_delivery_the_latest_reply_decides_whatever_the_order(self, provider):
        body = [_reply("START", 3), _reply("STOP", 1), _reply("stop", 2, phone="79005556677")]
        response = provider.post(URL, body, format="json")
        assert response.json()["results"] == ["ignored", "ignored", "suppressed"]
        assert not _listed()
        assert _listed("79005556677")

    def test_a_later_stop_after_a_start_suppresses_again(self, provider):
        provider.post(URL, [_reply("STOP", 0), _reply("START", 1)], format="json")
        response = provider.post(URL, _reply("СТОП", 2), format="json")
        assert response.json()["suppressed"] == 1
        assert _listed()

    def test_a_long_reply_is_kept_once(self, provider):
        rng = random.Random(5)  # characters that do not compress: 4 bytes each, 6,400 in all
        long = _reply("".join(chr(rng.randrange(0x1F300, 0x1FAFF)) for _ in range(1600)))
        assert provider.post(URL, long, format="json").json()["ignored"] == 1
        assert provider.post(URL, long, format="json").json()["duplicates"] == 1

    def test_replies_that_differ_only_after_many_characters_are_two(self, provider):
        first = _reply("x" * 100 + "a")
        body = [first, {**first, "text": "x" * 100 + "b"}]  # the same phone and time
        assert provider.post(URL, body, format="json").json()["results"] == ["ignored", "ignored"]

    def test_phones_are_read_as_numbers_or_written_with_decoration(self, provider):
        body = [{**_reply("STOP"), "phone": 79001112233}, {**_reply("STOP"), "phone": "+7 (900) 222-33-44"}]
        assert provider.post(URL, body, format="json").json()["suppressed"] == 2
        assert _listed("79001112233")
        assert _listed("79002223344")

    def test_past_its_rate_a_provider_gets_429(self, provider, settings, frozen_clock):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "inbound": "2/minute"},
        }
        statuses = [provider.post(URL, _reply("hi", n), format="json").status_code for n in range(3)]
        assert statuses == [200, 200, 429]
