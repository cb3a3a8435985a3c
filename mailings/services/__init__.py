"""Everything that writes: `<entity>_<action>` functions with keyword-only arguments, one module
per entity. Each validates with `full_clean()` (field rules, normalisation, DB constraints) before
saving, so every interface (the admin, the API, the tasks) refuses the same input the same way.

Interfaces call them as `services.<name>`: this module lists them all.
"""

from mailings.services.clients import (
    ClientImport,
    client_create,
    client_delete,
    client_import,
    client_import_plan,
    client_update,
)
from mailings.services.delivery_reports import (
    DeliveryReport,
    delivery_reports_apply,
    delivery_reports_close_overdue,
)
from mailings.services.inbound import InboundOutcome, Reply, inbound_replies_record
from mailings.services.mailings import (
    mailing_cancel,
    mailing_clone,
    mailing_create,
    mailing_delete,
    mailing_delete_check,
    mailing_launch,
    mailing_pause,
    mailing_resume,
    mailing_update,
    mailings_process_now,
    mailings_process_soon,
)
from mailings.services.messages import (
    message_create,
    message_delete,
    message_update,
)
from mailings.services.retries import mailing_retry_failed
from mailings.services.schedule import sending_schedule_update
from mailings.services.suppressions import (
    SuppressionAdded,
    SuppressionImport,
    suppression_add,
    suppression_import,
    suppression_import_plan,
    suppression_remove,
)
from mailings.services.trial import (
    TrialSend,
    mailing_test_send,
)

__all__ = [
    "ClientImport",
    "DeliveryReport",
    "InboundOutcome",
    "Reply",
    "SuppressionAdded",
    "SuppressionImport",
    "TrialSend",
    "client_create",
    "client_delete",
    "client_import",
    "client_import_plan",
    "client_update",
    "delivery_reports_apply",
    "delivery_reports_close_overdue",
    "inbound_replies_record",
    "mailing_cancel",
    "mailing_clone",
    "mailing_create",
    "mailing_delete",
    "mailing_delete_check",
    "mailing_launch",
    "mailing_pause",
    "mailing_resume",
    "mailing_retry_failed",
    "mailing_test_send",
    "mailing_update",
    "mailings_process_now",
    "mailings_process_soon",
    "message_create",
    "message_delete",
    "message_update",
    "sending_schedule_update",
    "suppression_add",
    "suppression_import",
    "suppression_import_plan",
    "suppression_remove",
]
