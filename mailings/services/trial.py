"""A mailing's text sent once to one phone, so an operator sees it arrive before launching."""

from dataclasses import dataclass

from mailings.gateway import Outcome
from mailings.models import Mailing
from mailings.sending.trial_send import send_test_message


@dataclass(frozen=True)
class TrialSend:
    phone: str
    sent: bool
    duration: float  # seconds, from the request to the provider's answer
    error: str  # why it was not sent


def mailing_test_send(*, mailing: Mailing, phone: str) -> TrialSend:
    """Send now, within the provider's timeouts; never a Message row, never counted."""
    result = send_test_message(phone=phone, text=mailing.message_text, mailing_id=mailing.pk)
    return TrialSend(phone=phone, sent=result.outcome is Outcome.SENT, duration=result.duration, error=result.error)
