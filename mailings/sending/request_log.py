"""The provider requests' log lines: a request not sent at INFO, a sent one at DEBUG, a batch's in one line.

A line per sent message cost a worker about 7% of its CPU per message (docs/benchmarks.md);
at INFO a batch writes one line for all its requests instead, and every request that did not
end sent keeps its own line with its error (tests/integration/faults.py reads those whose
request got no answer). `LOG_LEVEL=DEBUG`, or this logger at DEBUG, shows every request.
"""

import logging
from typing import TYPE_CHECKING

from mailings.gateway import Outcome, SendResult
from mailings.metrics import RequestTally

if TYPE_CHECKING:
    from mailings.sending.sender import Row

# The sender's logger: operators and tests know the lines by it.
logger = logging.getLogger("mailings.sending.sender")


def answered(*, mailing_id: int, row: "Row", result: SendResult) -> None:
    level = logging.DEBUG if result.outcome is Outcome.SENT else logging.INFO
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "provider answered",
        extra={
            "mailing_id": mailing_id,
            "message_id": row.id,
            "client_id": row.client_id,
            "provider": row.provider,
            "status": result.status,
            "outcome": result.outcome.value,
            "duration_ms": round(result.duration * 1000, 1),
            "attempt": row.attempts + 1,
            "error": result.error or None,
        },
    )


def batch_answered(*, mailing_id: int, tally: RequestTally) -> None:
    """The batch's requests: how many, their outcomes, mean and slowest duration."""
    if tally.count:
        logger.info(
            "provider requests: mean %.1f ms, slowest %.1f ms",
            tally.mean * 1000,
            tally.slowest * 1000,
            extra={"mailing_id": mailing_id, "count": tally.count, "outcome": tally.outcomes()},
        )
