"""A route row's own limit (`Route.parts_per_second`): a message sent through it waits for the
route's bucket and its provider's, through the real sandbox and the real Redis; a route without
a limit costs no extra Redis call; the limit follows the provider a message fails over to."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from mailings.models import Message, Route
from mailings.routing import RouteTable
from mailings.sending import runtime
from mailings.sending.assign import assign_providers
from mailings.sending.circuit import Circuit, Circuits, CircuitSettings
from mailings.sending.limiter import Limiter, buckets_from_settings
from tests.sending.support import _queued, _running, _send

S = Message.Status
TWO_PARTS = "y" * 200  # GSM-7: two parts of 153
ROUTE_KEY = "route:default:default"  # the default route's row for the provider `default`
SETTINGS = CircuitSettings(threshold=3, cooldown=30, refresh=0)


class Recording:
    """The real Redis buckets, noting each reservation asked of them."""

    def __init__(self, buckets):
        self.buckets = buckets
        self.calls: list[tuple[str, int]] = []
        self.rates: dict[str, set[float]] = {}  # each bucket's parts per second, as asked

    def reserve(self, key, **kwargs):
        self.calls.append((key, kwargs["parts"]))
        self.rates.setdefault(key, set()).add(round(1 / kwargs["interval"], 6))
        return self.buckets.reserve(key, **kwargs)


@pytest.fixture(autouse=True)
def empty_buckets():
    buckets = buckets_from_settings()
    keys = [f"{buckets.prefix}:limiter:{key}" for key in ("default", ROUTE_KEY)]
    buckets.client.delete(*keys)
    yield buckets
    buckets.client.delete(*keys)


@pytest.fixture
def recording(monkeypatch, empty_buckets):
    spy = Recording(empty_buckets)
    monkeypatch.setattr(runtime, "_limiter", Limiter(spy))
    return spy


@pytest.mark.django_db(transaction=True)
class TestRouteLimitAtTheSandbox:
    def test_the_routes_limit_holds_under_a_higher_provider_limit(self, sandbox_factory, settings):
        sandbox = sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 200
        Route.objects.create(provider="default", weight=1, parts_per_second=20)
        mailing = _running(message_text=TWO_PARTS)
        ids, token = _queued(mailing, 25)  # 50 parts: about 2.5 s at the route's 20 parts/s
        assert _send(mailing, ids, token) == {"sent": 25}
        series = sandbox.sandbox.state.seconds.series()
        assert sum(second["parts"] for second in series) == 50
        assert max(second["parts"] for second in series) <= 22  # the route's 20, +10%
        assert len(series) >= 3  # spread over the seconds, not at the provider's 200
        assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts")) == {(S.SENT, 1)}

    def test_a_message_costs_its_parts_in_the_routes_bucket_and_the_providers(
        self, sandbox_factory, settings, recording
    ):
        sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 200
        Route.objects.create(provider="default", weight=1, parts_per_second=50)
        mailing = _running(message_text=TWO_PARTS)
        ids, token = _queued(mailing, 3)
        assert _send(mailing, ids, token) == {"sent": 3}
        assert Counter(recording.calls) == {(ROUTE_KEY, 2): 3, ("default", 2): 3}
        assert recording.rates == {ROUTE_KEY: {50}, "default": {200}}  # each bucket at its own rate
        assert recording.calls[0] == (ROUTE_KEY, 2)  # the route first, the provider right before the request

    def test_a_route_without_a_limit_asks_only_for_the_providers_bucket(self, sandbox_factory, settings, recording):
        sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 200
        Route.objects.create(provider="default", weight=1)
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 3)
        assert _send(mailing, ids, token) == {"sent": 3}
        assert recording.calls == [("default", 1)] * 3

    def test_a_full_route_holds_the_message_without_an_attempt(self, sandbox_factory, settings, recording):
        sandbox = sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 0  # the provider has no limit: the route's alone holds
        Route.objects.create(provider="default", weight=1, parts_per_second=1)
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 1)
        gateway = settings.SENDING_CONNECT_TIMEOUT + settings.SENDING_READ_TIMEOUT
        recording.buckets.reserve(ROUTE_KEY, interval=1.0, parts=5, burst=0.05, max_wait=60)  # 5 s taken
        assert _send(mailing, ids, token, lease=gateway + 5 + 2) == {"hold": 1}
        assert sandbox.stats["requests"] == 0
        message = Message.objects.get(pk=ids[0])
        assert (message.status, message.attempts) == (S.PENDING, 0)
        assert message.last_error == f"route {ROUTE_KEY} is at its rate of 1 SMS parts per second"


class TestWhichLimitApplies:
    TABLE = RouteTable.build(
        [
            ("7913", "", "default", 1, 20),
            ("", "913", "default", 70, 30),
            ("", "913", "b", 30, None),
            ("", "", "default", 1, None),
            ("", "", "b", 1, 5),
        ]
    )

    def test_the_row_that_sends_the_message_to_its_provider(self):
        assert self.TABLE.limit_for("79130000000", "913", "default") == ("route:phone7913:default", 20.0)
        assert self.TABLE.limit_for("79990000000", "913", "default") == ("route:operator913:default", 30.0)
        assert self.TABLE.limit_for("79990000000", "913", "b") is None  # that row has none
        assert self.TABLE.limit_for("79990000000", None, "b") == ("route:default:b", 5.0)
        assert self.TABLE.limit_for("79990000000", None, "default") is None

    def test_a_table_without_limits_looks_nothing_up(self):
        table = RouteTable.build([("7913", "", "default", 1), ("", "", "b", 1)])
        assert table.limits == {}
        assert table.limit_for("79130000000", None, "default") is None

    @pytest.mark.django_db
    def test_a_message_failing_over_takes_the_limit_of_its_new_providers_row(self):
        Circuit(SETTINGS).open("down")
        table = RouteTable.build([("", "", "default", 100, 20), ("", "", "b", 1, 5)])
        rows = [(i, "79990000000", None, "default", False) for i in range(1, 6)]
        assigned = assign_providers(rows, table=table, enabled=frozenset({"default", "b"}), circuits=Circuits(SETTINGS))
        assert {(a.provider, a.route_limit) for a in assigned.values()} == {("b", ("route:default:b", 5.0))}


@pytest.mark.django_db
class TestTheFieldsRule:
    @pytest.mark.parametrize("value", [0, -3])
    def test_a_limit_below_one_is_refused_on_its_field(self, value):
        with pytest.raises(ValidationError) as error:
            Route(provider="default", weight=1, parts_per_second=value).full_clean()
        assert "parts_per_second" in error.value.message_dict

    def test_blank_is_no_limit_of_its_own(self):
        Route(provider="default", weight=1, parts_per_second=None).full_clean()
