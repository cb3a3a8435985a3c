"""Links into the delivery log, as the statistics rows and a mailing's panel give them."""

from urllib.parse import urlencode

from django.urls import reverse

from mailings.outcomes import OUTCOME_STATUSES


def delivery_log_url(*, mailing_id: int | None = None, outcome: str | None = None) -> str:
    """The delivery log filtered to a mailing's messages and/or an outcome (waiting: pending or sending)."""
    params: list[tuple[str, str | int]] = []
    if mailing_id is not None:
        params.append(("mailing__id__exact", mailing_id))
    if outcome is not None:
        params += [("status__exact", status) for status in OUTCOME_STATUSES[outcome]]
    url = reverse("admin:mailings_message_changelist")
    return f"{url}?{urlencode(params)}" if params else url
