"""Each claimed message's provider, decided in the claim and written in a few set-based UPDATEs.

A message whose request may have reached its provider (`provider_pinned`) stays with it.
Any other goes to the first provider of its ranking (mailings/routing.py: its weighted pick,
then the route's others by weight) whose circuit is closed, or whose cool-down is over and
whose probe this process takes (that message is then the probe). With none of them usable it
keeps its pick, and the sender holds it (as it holds a message whose route has no enabled
provider). Only the rows whose provider changes are written: one
UPDATE per provider they move to, none at all when nothing moves (the usual case). A message
also carries the limit of the route row that sends it to its provider, when that row has one.
"""

from dataclasses import dataclass

from mailings.models import Message
from mailings.routing import RouteLimit, RouteTable, ranked
from mailings.sending.circuit import Circuits, Mode


@dataclass(frozen=True, slots=True)
class Assignment:
    provider: str
    movable: bool  # another provider could take it when this one's circuit opens
    probe: bool  # it tests this provider, whose cool-down is over
    route_limit: RouteLimit | None = None  # its route row's own limit on this provider


def assign_providers(
    rows: list[tuple[int, str, str | None, str, bool]],
    *,
    table: RouteTable,
    enabled: frozenset[str],
    circuits: Circuits,
) -> dict[int, Assignment]:
    """`rows`: (id, phone, operator code, provider, pinned) of each claimed message."""
    modes: dict[str, Mode] = {}
    tried_probe: set[str] = set()

    def mode(name: str) -> Mode:
        found = modes.get(name)
        if found is None:
            found = modes[name] = circuits.get(name).mode()
        return found

    assigned: dict[int, Assignment] = {}
    for message_id, phone, operator_code, current, pinned in rows:
        if pinned:
            order = [current]
        else:  # a route whose providers are all disabled keeps its heaviest: the sender holds it
            route = table.route_for(phone, operator_code)
            order = ranked(route, message_id, enabled) or [route[0][0]]
        chosen, probe = order[0], False
        for name in order:
            state = mode(name)
            if state is Mode.CLOSED:
                chosen = name
                break
            if state is Mode.PROBING and name not in tried_probe:
                tried_probe.add(name)
                if circuits.get(name).acquire_probe():  # one per provider: the batch's others go on
                    chosen, probe = name, True
                    break
        limit = table.limit_for(phone, operator_code, chosen)
        assigned[message_id] = Assignment(chosen, len(order) > 1, probe, limit)
    return assigned


def write_providers(*, current: dict[int, str], assigned: dict[int, Assignment], token: int) -> int:
    """Write the providers that changed, one UPDATE per provider; returns how many rows moved."""
    moving: dict[str, list[int]] = {}
    for message_id, assignment in assigned.items():
        if assignment.provider != current[message_id]:
            moving.setdefault(assignment.provider, []).append(message_id)
    for provider, ids in moving.items():
        Message.objects.filter(id__any=ids, token=token).update(provider=provider)
    return sum(len(ids) for ids in moving.values())
