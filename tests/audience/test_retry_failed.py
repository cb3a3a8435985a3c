"""Retrying a mailing's failed messages: the service, the API's POST /mailings/<id>/retry-failed/,
the admin's action and the control panel's button."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from mailings import services
from mailings.errors import ConflictError
from mailings.models import Mailing, Message
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
S = Message.Status


def _mailing(status=Mailing.Status.RUNNING, **kwargs) -> Mailing:
    return MailingFactory(status=status, started_at=timezone.now(), **kwargs)


def _one_of_each(mailing: Mailing) -> dict[str, Message]:
    later = timezone.now() + timedelta(hours=1)
    return {
        status: MessageFactory(mailing=mailing, status=status, attempts=3, token=7, next_attempt_at=later)
        for status in (S.FAILED, S.SENT, S.PENDING, S.SENDING, S.EXPIRED, S.CANCELLED)
    }


class TestRetryFailedService:
    def test_it_moves_only_the_failed_messages_back_to_waiting(self, django_user_model):
        mailing = _mailing()
        rows = _one_of_each(mailing)
        failed_again = MessageFactory(mailing=mailing, status=S.FAILED, attempts=5)
        other = MessageFactory(status=S.FAILED)  # another mailing's
        actor = django_user_model.objects.create_user(username="op", password="pw-123456")
        assert services.mailing_retry_failed(mailing=mailing, actor=actor, via="admin") == 2
        for row in [*rows.values(), failed_again, other]:
            row.refresh_from_db()
        assert (rows[S.FAILED].status, rows[S.FAILED].attempts, rows[S.FAILED].token) == (S.PENDING, 0, None)
        assert rows[S.FAILED].next_attempt_at <= timezone.now()
        assert rows[S.FAILED].lease_expires_at is None
        assert failed_again.status == S.PENDING
        assert other.status == S.FAILED
        for status in (S.SENT, S.PENDING, S.SENDING, S.EXPIRED, S.CANCELLED):
            assert (rows[status].status, rows[status].attempts, rows[status].token) == (status, 3, 7)
        entry = LogEntry.objects.get(object_id=str(mailing.pk))
        assert entry.change_message == "Retried 2 failed messages."
        assert entry.user_id == actor.pk

    def test_a_mailing_finished_early_runs_again(self):
        mailing = _mailing(status=Mailing.Status.FINISHED, finished_at=timezone.now())
        MessageFactory(mailing=mailing, status=S.FAILED)
        assert services.mailing_retry_failed(mailing=mailing) == 1
        mailing.refresh_from_db()
        assert (mailing.status, mailing.finished_at) == (Mailing.Status.RUNNING, None)

    def test_a_paused_mailing_stays_paused(self):
        mailing = _mailing(status=Mailing.Status.PAUSED)
        MessageFactory(mailing=mailing, status=S.FAILED)
        assert services.mailing_retry_failed(mailing=mailing) == 1
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.PAUSED

    @pytest.mark.parametrize(
        ("kwargs", "says"),
        [
            ({"status": Mailing.Status.CANCELLED}, "is cancelled"),
            (
                {
                    "status": Mailing.Status.FINISHED,
                    "start_datetime": timezone.now() - timedelta(days=2),
                    "end_datetime": timezone.now() - timedelta(days=1),
                },
                "ended at",
            ),
        ],
    )
    def test_it_refuses_a_mailing_that_has_ended_or_is_cancelled(self, kwargs, says):
        mailing = _mailing(**kwargs)
        failed = MessageFactory(mailing=mailing, status=S.FAILED)
        with pytest.raises(ConflictError, match=says):
            services.mailing_retry_failed(mailing=mailing)
        failed.refresh_from_db()
        assert failed.status == S.FAILED

    def test_it_refuses_when_nothing_failed(self):
        mailing = _mailing(status=Mailing.Status.FINISHED)
        MessageFactory(mailing=mailing, status=S.SENT)
        with pytest.raises(ConflictError, match="no failed messages"):
            services.mailing_retry_failed(mailing=mailing)
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.FINISHED


class TestRetryFailedApi:
    def test_it_answers_how_many_and_notes_the_api_in_the_history(self, api):
        mailing = _mailing()
        MessageFactory.create_batch(3, mailing=mailing, status=S.FAILED)
        MessageFactory(mailing=mailing, status=S.SENT)
        response = api.post(f"/mailings/{mailing.pk}/retry-failed/")
        assert response.status_code == 200, response.content
        assert response.json() == {"retried": 3}
        assert mailing.messages.filter(status=S.PENDING).count() == 3
        assert LogEntry.objects.get(object_id=str(mailing.pk)).change_message == "Retried 3 failed messages (API)."

    def test_a_refusal_is_a_409_saying_why(self, api):
        mailing = _mailing(status=Mailing.Status.CANCELLED)
        MessageFactory(mailing=mailing, status=S.FAILED)
        response = api.post(f"/mailings/{mailing.pk}/retry-failed/")
        assert response.status_code == 409
        assert "cancelled" in str(response.json())

    def test_it_needs_change_mailing(self, readonly_api, token_with):
        mailing = _mailing()
        MessageFactory(mailing=mailing, status=S.FAILED)
        url = f"/mailings/{mailing.pk}/retry-failed/"
        assert readonly_api.post(url).status_code == 403
        assert token_with("view_mailing", "add_mailing", "delete_mailing").post(url).status_code == 403
        assert mailing.messages.get().status == S.FAILED
        assert token_with("change_mailing").post(url).status_code == 200

    def test_an_unknown_mailing_is_a_404(self, api):
        assert api.post("/mailings/999999/retry-failed/").status_code == 404


class TestRetryFailedAdmin:
    def test_the_list_action_says_how_many(self, operator):
        mailing = _mailing()
        MessageFactory.create_batch(2, mailing=mailing, status=S.FAILED)
        response = operator.post(
            "/admin/mailings/mailing/",
            {"action": "retry_failed", "_selected_action": [mailing.pk]},
            follow=True,
        )
        assert f"Mailing #{mailing.pk}: 2 failed messages back to waiting" in response.content.decode()
        assert mailing.messages.filter(status=S.PENDING).count() == 2
        assert LogEntry.objects.get(object_id=str(mailing.pk)).change_message == "Retried 2 failed messages."

    def test_the_panel_shows_the_button_with_the_count_and_it_retries(self, operator):
        mailing = _mailing(status=Mailing.Status.FINISHED, finished_at=timezone.now())
        MessageFactory.create_batch(2, mailing=mailing, status=S.FAILED)
        from mailings.counts import fold_message_counts

        fold_message_counts()
        page = operator.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
        assert "Retry 2 failed" in page
        response = operator.post(f"/admin/mailings/mailing/{mailing.pk}/retry-failed/", follow=True)
        assert "2 failed messages back to waiting" in response.content.decode()
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.RUNNING

    def test_a_refusal_is_said_and_changes_nothing(self, operator):
        mailing = _mailing(status=Mailing.Status.CANCELLED)
        MessageFactory(mailing=mailing, status=S.FAILED)
        response = operator.post(f"/admin/mailings/mailing/{mailing.pk}/retry-failed/", follow=True)
        assert "is cancelled" in response.content.decode()
        assert mailing.messages.get().status == S.FAILED

    def test_viewers_may_not_retry(self, viewer):
        mailing = _mailing()
        MessageFactory(mailing=mailing, status=S.FAILED)
        assert viewer.post(f"/admin/mailings/mailing/{mailing.pk}/retry-failed/").status_code == 403
        assert mailing.messages.get().status == S.FAILED
