"""What operators and integrations are told about the provider."""

import time
from datetime import UTC, datetime

from mailings.sending.circuit import circuit_state


def provider_status() -> dict:
    """{"state": "closed"} when sending normally, else the open circuit with its reason and times."""
    state = circuit_state()
    if state is None:
        return {"state": "closed", "reason": "", "opened_at": None, "retry_at": None}
    return {
        "state": "open" if time.time() < state["until"] else "probing",
        "reason": state["reason"],
        "opened_at": state["opened_at"],
        "retry_at": state["until"],
        "retry_at_display": datetime.fromtimestamp(state["until"], UTC).strftime("%H:%M:%S"),
    }
