"""Which provider a message goes to: its route, its weighted pick, and the failover order.

A route is the `Route` rows with the same phone prefix or operator code (mailings/models.py);
the longest matching prefix wins, then the operator code, then the default route (the rows
with neither), then the provider `default`. Among the route's enabled providers, a message's
pick is weighted and stable: the share of its id (a fixed hash) falls in one provider's slice,
so a retry goes to the same provider as long as that provider answers. When the pick's circuit
is not closed, the message tries the route's other providers in weight order (heaviest first,
starting after its pick), the first with a closed circuit taking it.

A route row may cap its provider for that route (`Route.parts_per_second`): the message that
goes to that provider through that route carries the row's limit (`limit_for`), a bucket of
its own that it waits for as well as its provider's (mailings/sending/limiter.py). With no
row limited, `limit_for` answers None without looking anything up.

What is never decided here: whether a message may move at all. One whose request may have
reached its provider (`Message.provider_pinned`) stays there (docs/sending.md).
"""

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from mailings.models import Route
from mailings.providers import DEFAULT_PROVIDER

Choices = tuple[tuple[str, int], ...]  # a route: (provider, weight), heaviest first
RouteLimit = tuple[str, float]  # a route row's limiter key and its SMS parts per second

_GOLDEN = 0x9E3779B97F4A7C15  # 2^64 / golden ratio: consecutive ids spread evenly over [0, 1)
_MASK = (1 << 64) - 1


def share(message_id: int) -> float:
    """A message's fixed place in [0, 1): the same on every worker, every retry."""
    return ((message_id * _GOLDEN) & _MASK) / 2**64


@dataclass(frozen=True)
class RouteTable:
    by_prefix: dict[str, Choices] = field(default_factory=dict)
    by_operator: dict[str, Choices] = field(default_factory=dict)
    fallback: Choices = ((DEFAULT_PROVIDER, 1),)
    prefix_lengths: tuple[int, ...] = ()  # longest first
    # (phone_prefix, operator_code, provider) of the rows with a limit of their own
    limits: dict[tuple[str, str, str], RouteLimit] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Iterable[tuple]) -> "RouteTable":
        """From (phone_prefix, operator_code, provider, weight[, parts_per_second]) rows."""
        by_prefix: dict[str, list] = {}
        by_operator: dict[str, list] = {}
        fallback: list = []
        limits: dict[tuple[str, str, str], RouteLimit] = {}
        for prefix, operator, provider, weight, *rate in rows:
            if rate and rate[0]:
                where = f"phone{prefix}" if prefix else (f"operator{operator}" if operator else "default")
                limits[(prefix, operator, provider)] = (f"route:{where}:{provider}", float(rate[0]))
            target = (
                by_prefix.setdefault(prefix, [])
                if prefix
                else (by_operator.setdefault(operator, []) if operator else fallback)
            )
            target.append((provider, weight))

        def ordered(choices: list) -> Choices:
            return tuple(sorted(choices, key=lambda choice: (-choice[1], choice[0])))

        return cls(
            {k: ordered(v) for k, v in by_prefix.items()},
            {k: ordered(v) for k, v in by_operator.items()},
            ordered(fallback) if fallback else ((DEFAULT_PROVIDER, 1),),
            tuple(sorted({len(k) for k in by_prefix}, reverse=True)),
            limits,
        )

    def route_for(self, phone: str, operator_code: str | None) -> Choices:
        for length in self.prefix_lengths:
            found = self.by_prefix.get(phone[:length])
            if found:
                return found
        return self.by_operator.get(operator_code or "", self.fallback)

    def limit_for(self, phone: str, operator_code: str | None, provider: str) -> RouteLimit | None:
        """The limit of the route row that sends this message to `provider`, if it has one."""
        if not self.limits:
            return None
        for length in self.prefix_lengths:
            if phone[:length] in self.by_prefix:
                return self.limits.get((phone[:length], "", provider))
        if (operator_code or "") in self.by_operator:
            return self.limits.get(("", operator_code, provider))
        return self.limits.get(("", "", provider))


def ranked(route: Choices, message_id: int, enabled: Collection[str]) -> list[str]:
    """The route's enabled providers in the order this message tries them: its weighted pick,
    then the others in weight order after it."""
    candidates = [(name, weight) for name, weight in route if name in enabled]
    if not candidates:
        return []
    point = share(message_id) * sum(weight for _, weight in candidates)
    index = len(candidates) - 1
    for i, (_, weight) in enumerate(candidates):
        if point < weight:
            index = i
            break
        point -= weight
    names = [name for name, _ in candidates]
    return names[index:] + names[:index]


# How long a worker process keeps the routes it read: an operator's edit reaches every worker
# within this, and a batch costs no query for them.
ROUTES_REFRESH_SECONDS = 5.0
_cached: tuple[float, RouteTable] | None = None


def route_table() -> RouteTable:
    global _cached
    now = time.monotonic()
    if _cached is None or now - _cached[0] >= ROUTES_REFRESH_SECONDS:
        rows = Route.objects.values_list("phone_prefix", "operator_code", "provider", "weight", "parts_per_second")
        _cached = (now, RouteTable.build(rows))
    return _cached[1]


def forget_routes() -> None:
    """Read the routes again at the next batch (tests, and a route saved in this process)."""
    global _cached
    _cached = None
