"""A mailing's delivery reports on its control panel: delivered, undelivered, no report and the
delivery rate (mailings/delivery_selectors.py), each count a link into the delivery log."""

from mailings.admin.links import delivery_log_url
from mailings.delivery_selectors import delivery_counts_by_mailing, delivery_summary
from mailings.formatting import rate_label

LABELS = {"delivered": "delivered", "undelivered": "undelivered", "no_report": "no report"}


def delivery_panel(*, mailing_id: int) -> dict:
    summary = delivery_summary(delivery_counts_by_mailing(mailing_ids=[mailing_id])[mailing_id])
    log = delivery_log_url(mailing_id=mailing_id)
    rows = [
        {"status": key, "label": label, "count": summary[key], "url": f"{log}&delivery_status__exact={key}"}
        for key, label in LABELS.items()
    ]
    return {"rows": rows, "rate": rate_label(summary["delivery_rate"])}
