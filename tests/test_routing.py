"""Routes: which provider a message goes to (weights, stable per message, failover order), and the
rules a route must keep (a known provider, a weight of 1 or more, a prefix or a code, not both)."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from mailings.models import Route
from mailings.routing import RouteTable, forget_routes, ranked, route_table, share

ENABLED = frozenset({"default", "b", "c"})


def _shares(route, ids, enabled=ENABLED) -> dict[str, float]:
    picks = Counter(ranked(route, i, enabled)[0] for i in ids)
    return {name: n / len(ids) for name, n in picks.items()}


class TestWeights:
    def test_it_shares_sequential_ids_by_weight(self):
        route = RouteTable.build([("", "", "default", 70), ("", "", "b", 30)]).fallback
        shares = _shares(route, range(1, 20_001))
        assert shares["default"] == pytest.approx(0.7, abs=0.01)
        assert shares["b"] == pytest.approx(0.3, abs=0.01)

    def test_it_shares_scattered_ids_by_weight(self):
        route = RouteTable.build([("", "", "default", 50), ("", "", "b", 30), ("", "", "c", 20)]).fallback
        ids = range(1_000_003, 1_000_003 + 7 * 30_000, 7)
        shares = _shares(route, ids)
        assert (shares["default"], shares["b"], shares["c"]) == pytest.approx((0.5, 0.3, 0.2), abs=0.01)

    def test_a_message_always_gets_the_same_pick(self):
        route = RouteTable.build([("", "", "default", 1), ("", "", "b", 1)]).fallback
        assert [ranked(route, i, ENABLED) for i in range(100)] == [ranked(route, i, ENABLED) for i in range(100)]
        places = [share(i) for i in range(1000)]
        assert min(places) >= 0
        assert max(places) < 1

    def test_a_disabled_provider_gets_no_share(self):
        route = RouteTable.build([("", "", "default", 70), ("", "", "b", 30)]).fallback
        assert _shares(route, range(1000), enabled={"b"}) == {"b": 1.0}
        assert ranked(route, 5, enabled={"c"}) == []

    def test_after_the_pick_come_the_others_heaviest_first(self):
        route = RouteTable.build([("", "", "c", 20), ("", "", "default", 50), ("", "", "b", 30)]).fallback
        orders = {tuple(ranked(route, i, ENABLED)) for i in range(1000)}
        assert orders == {("default", "b", "c"), ("b", "c", "default"), ("c", "default", "b")}


class TestRouteTable:
    def test_the_longest_prefix_then_the_operator_then_the_default_route(self):
        table = RouteTable.build(
            [
                ("7913", "", "b", 1),
                ("79131", "", "c", 1),
                ("", "913", "c", 5),
                ("", "913", "default", 5),
                ("", "", "b", 1),
            ]
        )
        assert table.route_for("79131234567", "913") == (("c", 1),)
        assert table.route_for("79139999999", "913") == (("b", 1),)
        assert table.route_for("79001234567", "913") == (("c", 5), ("default", 5))
        assert table.route_for("79001234567", "900") == (("b", 1),)

    def test_without_routes_everything_goes_to_default(self):
        assert RouteTable.build([]).route_for("79001234567", "900") == (("default", 1),)

    @pytest.mark.django_db
    def test_it_reads_the_routes_operators_saved(self):
        Route.objects.create(operator_code="913", provider="default", weight=3)
        forget_routes()
        assert route_table().route_for("79131234567", "913") == (("default", 3),)


@pytest.mark.django_db
class TestRouteValidation:
    def _route(self, **fields) -> Route:
        return Route(**{"provider": "default", "weight": 10, **fields})

    def test_an_unknown_provider_is_refused_naming_the_field(self):
        with pytest.raises(ValidationError) as refused:
            self._route(provider="nobody").full_clean()
        assert "provider" in refused.value.message_dict
        assert "nobody" in refused.value.message_dict["provider"][0]

    @pytest.mark.parametrize("weight", [0, -5])
    def test_a_weight_below_one_is_refused_naming_the_field(self, weight):
        with pytest.raises(ValidationError) as refused:
            self._route(weight=weight).full_clean()
        assert "weight" in refused.value.message_dict

    def test_a_prefix_and_a_code_together_are_refused(self):
        with pytest.raises(ValidationError, match="prefix or an operator code, not both"):
            self._route(phone_prefix="7913", operator_code="913").full_clean()

    @pytest.mark.parametrize("prefix", ["8913", "7913x", "791312345678"])
    def test_a_prefix_is_7_and_digits(self, prefix):
        with pytest.raises(ValidationError) as refused:
            self._route(phone_prefix=prefix).full_clean()
        assert "phone_prefix" in refused.value.message_dict

    def test_a_provider_named_twice_on_a_route_is_refused(self):
        self._route(operator_code="913").save()
        with pytest.raises(ValidationError, match="already names this provider"):
            self._route(operator_code="913").full_clean()

    def test_a_good_route_is_kept(self, settings):
        settings.SENDING_PROVIDERS = {"b": {"url": "http://b.example", "token": "t", "enabled": True}}
        self._route(phone_prefix="7913", provider="b").full_clean()
