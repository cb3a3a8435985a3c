"""What operators and integrations are told about the provider."""

from datetime import UTC, datetime

from mailings.sending.circuit import Mode, circuit_mode, circuit_state


def provider_status() -> dict:
    """{"state": "closed"} when sending normally, else the open circuit with its reason and times."""
    state = circuit_state()
    mode = circuit_mode(state)
    if mode is Mode.CLOSED:
        return {"state": mode.value, "reason": "", "opened_at": None, "retry_at": None}
    return {
        "state": mode.value,
        "reason": state["reason"],
        "opened_at": state["opened_at"],
        "retry_at": state["until"],
        "retry_at_display": datetime.fromtimestamp(state["until"], UTC).strftime("%H:%M:%S"),
    }
