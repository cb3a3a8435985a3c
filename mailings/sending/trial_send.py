"""A mailing's text sent once to one phone, so an operator sees it arrive before launching.

Test messages are not `Message` rows and never touch the counts or the circuit.
Their msgId lies in a range of its own, far above any message id the database's
sequence will reach (9 * 10^18 plus microseconds since 1970), so the provider never
takes one for a message of a mailing.
"""

import asyncio
import logging
import time

from mailings.gateway import Gateway, SendResult
from mailings.sending.config import SendingConfig

logger = logging.getLogger(__name__)

TEST_MESSAGE_IDS_FROM = 9 * 10**18


def new_test_message_id() -> int:
    return TEST_MESSAGE_IDS_FROM + time.time_ns() // 1000


def send_test_message(*, phone: str, text: str, mailing_id: int | None = None) -> SendResult:
    """Send now, within the provider timeouts (connect + read), and say what happened."""
    config = SendingConfig.from_settings().gateway

    async def send() -> SendResult:
        async with Gateway(config) as gateway:
            return await gateway.send(message_id=new_test_message_id(), phone=phone, text=text)

    result = asyncio.run(send())
    logger.info(
        "test message",
        extra={
            "mailing_id": mailing_id,
            "message_id": result.message_id,
            "status": result.status,
            "outcome": result.outcome.value,
            "duration_ms": round(result.duration * 1000),
            "error": result.error or None,
        },
    )
    return result
