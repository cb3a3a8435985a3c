"""Routing benchmark: the CPU the claim spends choosing each message's provider.

    .venv/bin/python bench/routing_choice.py

No database: the routes are built in memory and the circuits read once (their state is kept
for the run). Prints µs of CPU per message for a batch of 200 without routes (everything to
`default`) and with a 70/30 default route and 50 phone-prefix routes, best of 5 rounds.
"""

import time

import harness

harness.setup_django()

from mailings.routing import RouteTable  # noqa: E402
from mailings.sending.assign import assign_providers  # noqa: E402
from mailings.sending.circuit import Circuits, CircuitSettings  # noqa: E402

BATCH, ROUNDS, REPEAT = 200, 5, 1000


def per_message(table: RouteTable, circuits: Circuits) -> float:
    rows = [(i, f"7900{i:07d}", "900", "default", False) for i in range(1_000_000, 1_000_000 + BATCH)]
    enabled = frozenset({"default", "b"})
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REPEAT):
            assign_providers(rows, table=table, enabled=enabled, circuits=circuits)
        best = min(best, (time.process_time() - started) / (REPEAT * BATCH))
    return best * 1e6


def main() -> None:
    circuits = Circuits(CircuitSettings(refresh=3600))
    for name in ("default", "b"):
        circuits.get(name).mode()  # one read of the cache, kept for the run
    tables = {
        "no routes": RouteTable.build([]),
        "70/30 default route and 50 prefix routes": RouteTable.build(
            [("", "", "default", 70), ("", "", "b", 30)] + [(f"79{n:02d}", "", "b", 1) for n in range(10, 60)]
        ),
    }
    for label, table in tables.items():
        print(f"{label}: {per_message(table, circuits):.2f} µs CPU per message")


if __name__ == "__main__":
    main()
