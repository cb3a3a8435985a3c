"""What became of messages, in the words every page, the API and the daily e-mail use.

Operators read five outcomes: sent, failed, waiting (pending or sending: still to be
sent), expired (the mailing ended first) and cancelled. The success rate is
sent / (sent + failed + expired): of the messages whose delivery has ended, the share
the provider accepted. Waiting messages have not ended and stay out of it; cancelled
ones were withdrawn by people (a cancel, a filter change, a deleted client), not lost.
"""

from collections.abc import Mapping

from mailings.models import Message

S = Message.Status

OUTCOMES: tuple[str, ...] = ("sent", "failed", "waiting", "expired", "cancelled")
# The statuses the success rate divides by: deliveries that have ended, well or not.
ENDED_STATUSES: tuple[str, ...] = (S.SENT, S.FAILED, S.EXPIRED)
# The delivery log's statuses behind each outcome.
OUTCOME_STATUSES: dict[str, tuple[str, ...]] = {
    "sent": (S.SENT,),
    "failed": (S.FAILED,),
    "waiting": tuple(Message.WAITING_STATUSES),
    "expired": (S.EXPIRED,),
    "cancelled": (S.CANCELLED,),
}


def message_outcomes(*, counts: Mapping[str, int]) -> dict[str, int]:
    """Message counts per status -> counts per outcome (absent statuses count 0)."""
    return {
        outcome: sum(counts.get(status, 0) for status in statuses) for outcome, statuses in OUTCOME_STATUSES.items()
    }


def success_rate(*, counts: Mapping[str, int]) -> float | None:
    """sent / (sent + failed + expired) from counts per status (or per outcome: the keys are the same);
    None while none of them has ended."""
    ended = sum(counts.get(status, 0) for status in ENDED_STATUSES)
    return counts.get(S.SENT, 0) / ended if ended else None
