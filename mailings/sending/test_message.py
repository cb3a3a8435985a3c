"""The old path of `mailings.sending.trial_send`, kept only while mailings/admin.py and
tests/admin/test_test_message.py still import from here; delete it once they import
from `mailings.sending.trial_send`."""

from mailings.sending.trial_send import TEST_MESSAGE_IDS_FROM, send_test_message

__all__ = ["TEST_MESSAGE_IDS_FROM", "send_test_message"]
