"""A mailing's text sent once to one phone, so an operator sees it arrive before launching.

A personalised text is rendered for the client with that phone (a phone no client has cannot
fill the placeholders in: refused, nothing sent or counted).

Each user may send `TEST_MESSAGES_PER_HOUR` of them in each clock hour, superusers too: every
one is on the provider's bill. They are counted in the shared cache before the request goes
out (a refused or failed send counts too); when the cache does not answer, none is sent.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from backoffice.rates import PERIODS, Rate
from mailings import placeholders
from mailings.errors import LimitReached
from mailings.gateway import Outcome
from mailings.models import Client, Mailing
from mailings.personalisation import render_for
from mailings.rate_limits import rate_limit_hit
from mailings.sending.trial_send import send_test_message
from mailings.services.history import ADMIN, mailing_history_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialSend:
    phone: str
    sent: bool
    duration: float  # seconds, from the request to the provider's answer
    error: str  # why it was not sent

    @property
    def report(self) -> str:
        if self.sent:
            return f"Test message sent to {self.phone}: the provider accepted it in {self.duration * 1000:.0f} ms."
        return f"Test message to {self.phone} not sent: {self.error}."


def _test_message_allowed(*, user) -> None:
    """Count this test message against the user's hour; LimitReached past it or when it cannot be counted."""
    rate = Rate(count=settings.TEST_MESSAGES_PER_HOUR, seconds=PERIODS["hour"])
    try:
        verdict = rate_limit_hit(bucket=f"test-messages:{user.pk}", rate=rate)
    except Exception:
        logger.warning("the cache did not answer; test message not sent", exc_info=True)
        raise LimitReached(
            "Not sent: test messages are counted in the cache (Redis), which does not answer right now. "
            "Try again in a minute.",
            retry_after=60,
        ) from None
    if not verdict.allowed:
        again = timezone.localtime(datetime.fromtimestamp(verdict.window_ends, tz=UTC))
        wait = f"{verdict.retry_after} s" if verdict.retry_after < 60 else f"{math.ceil(verdict.retry_after / 60)} min"
        raise LimitReached(
            f"Not sent: you have sent the {rate.count} test messages a user may send each hour "
            f"(TEST_MESSAGES_PER_HOUR). You can send more from {again:%H:%M} {again:%Z} (in {wait}).",
            retry_after=verdict.retry_after,
        )


def test_message_text(*, mailing: Mailing, phone: str) -> tuple[str, str]:
    """The text a test message to `phone` carries, rendered for the client with that phone when
    the text has placeholders; or "" and why it cannot be."""
    template = placeholders.parse_or_literal(mailing.message_text)
    if not template.has_placeholders:
        return template.render({}), ""
    client = Client.objects.filter(phone_number=phone).first()
    if client is None:
        return "", "the text has placeholders, and no client has this phone to fill them in: choose a client's phone"
    try:
        return render_for(template, client), ""
    except placeholders.MissingValue as missing:
        return "", f"the client has no attribute {missing.name} and {{{missing.name}}} has no default"


def mailing_test_send(*, mailing: Mailing, phone: str, user, via: str = ADMIN) -> TrialSend:
    """Send now, within the provider's timeouts; never a Message row, never counted in the
    statistics, but noted in the mailing's History. LimitReached, with nothing sent, past the
    user's test messages of the hour."""
    text, why_not = test_message_text(mailing=mailing, phone=phone)
    if why_not:  # nothing to send, nothing counted
        trial = TrialSend(phone=phone, sent=False, duration=0.0, error=why_not)
        mailing_history_record(mailing=mailing, actor=user, via=via, message=trial.report)
        return trial
    _test_message_allowed(user=user)
    result = send_test_message(phone=phone, text=text, mailing_id=mailing.pk)
    trial = TrialSend(phone=phone, sent=result.outcome is Outcome.SENT, duration=result.duration, error=result.error)
    mailing_history_record(mailing=mailing, actor=user, via=via, message=trial.report)
    return trial
