"""Controlling mailings: pause, resume, cancel, launch, and /activate_mailing/."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from mailings import services, tasks
from mailings.errors import ConflictError
from mailings.models import Mailing, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
S = Message.Status


def _running(**kwargs) -> Mailing:
    return MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now(), **kwargs)


class TestPauseResumeCancel:
    def test_it_pauses_and_resumes_a_running_mailing(self):
        mailing = _running()
        queued = MessageFactory(mailing=mailing, token=9, next_attempt_at=timezone.now() + timedelta(minutes=5))
        assert services.mailing_pause(mailing=mailing).status == Mailing.Status.PAUSED
        assert services.mailing_resume(mailing=mailing).status == Mailing.Status.RUNNING
        queued.refresh_from_db()
        # Queued before the pause: due again at once rather than after the queue grace.
        assert queued.token is None
        assert queued.next_attempt_at <= timezone.now()

    def test_a_mailing_paused_before_it_started_goes_back_to_scheduled(self):
        mailing = MailingFactory(start_datetime=timezone.now() + timedelta(hours=1))
        services.mailing_pause(mailing=mailing)
        assert services.mailing_resume(mailing=mailing).status == Mailing.Status.SCHEDULED

    def test_cancel_drops_what_waits_and_keeps_what_went(self):
        mailing = _running()
        sent = MessageFactory(mailing=mailing, status=S.SENT)
        waiting = MessageFactory(mailing=mailing, status=S.PENDING)
        services.mailing_cancel(mailing=mailing)
        sent.refresh_from_db()
        waiting.refresh_from_db()
        assert (sent.status, waiting.status) == (S.SENT, S.CANCELLED)
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.CANCELLED

    @pytest.mark.parametrize(
        ("status", "control"),
        [
            (Mailing.Status.FINISHED, services.mailing_pause),
            (Mailing.Status.RUNNING, services.mailing_resume),
            (Mailing.Status.CANCELLED, services.mailing_cancel),
            (Mailing.Status.RUNNING, services.mailing_launch),
        ],
    )
    def test_it_refuses_what_the_state_does_not_allow(self, status, control):
        mailing = MailingFactory(status=status)
        with pytest.raises(ConflictError):
            control(mailing=mailing)
        assert Mailing.objects.get(pk=mailing.pk).status == status

    def test_launch_moves_a_future_start_to_now(self, django_capture_on_commit_callbacks):
        mailing = MailingFactory(
            start_datetime=timezone.now() + timedelta(days=1), end_datetime=timezone.now() + timedelta(days=2)
        )
        with django_capture_on_commit_callbacks() as callbacks:
            services.mailing_launch(mailing=mailing)
        mailing.refresh_from_db()
        assert mailing.start_datetime <= timezone.now()
        assert services.mailings_process_soon in callbacks


class TestStartsAtOnce:
    def test_a_mailing_saved_with_its_window_open_triggers_processing(self, django_capture_on_commit_callbacks):
        now = timezone.now()
        with django_capture_on_commit_callbacks() as callbacks:
            services.mailing_create(start_datetime=now, end_datetime=now + timedelta(hours=1), message_text="Hi")
        assert services.mailings_process_soon in callbacks

    def test_a_future_mailing_waits_for_the_tick(self, django_capture_on_commit_callbacks):
        start = timezone.now() + timedelta(hours=1)
        with django_capture_on_commit_callbacks() as callbacks:
            services.mailing_create(start_datetime=start, end_datetime=start + timedelta(hours=1), message_text="Hi")
        assert services.mailings_process_soon not in callbacks


class TestControlEndpoints:
    @pytest.mark.parametrize(
        ("action", "expected"),
        [("pause", "paused"), ("cancel", "cancelled")],
    )
    def test_it_changes_the_status(self, api, action, expected):
        mailing = _running()
        response = api.post(f"/mailings/{mailing.pk}/{action}/")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == expected
        assert Mailing.objects.get(pk=mailing.pk).status == expected

    def test_resume_answers_the_running_mailing(self, api):
        mailing = MailingFactory(status=Mailing.Status.PAUSED, started_at=timezone.now())
        response = api.post(f"/mailings/{mailing.pk}/resume/")
        assert (response.status_code, response.json()["status"]) == (200, "running")

    def test_a_forbidden_transition_is_a_409_that_says_why(self, api):
        mailing = MailingFactory(status=Mailing.Status.FINISHED)
        response = api.post(f"/mailings/{mailing.pk}/pause/")
        assert response.status_code == 409
        assert "finished" in response.json()["detail"]

    def test_it_needs_the_change_permission(self, readonly_api, anon_api):
        mailing = _running()
        assert readonly_api.post(f"/mailings/{mailing.pk}/pause/").status_code == 403
        assert anon_api.post(f"/mailings/{mailing.pk}/pause/").status_code == 401
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.RUNNING

    def test_an_unknown_mailing_is_a_404(self, api):
        assert api.post("/mailings/999999/cancel/").status_code == 404


class TestActivateMailing:
    def test_post_queues_a_pass_and_answers_at_once(self, api, monkeypatch):
        queued = []
        monkeypatch.setattr(
            tasks.process_active_mailings,
            "apply_async",
            lambda **options: queued.append(options) or SimpleNamespace(id="the-task-id"),
        )
        ClientFactory.create_batch(3)
        MessageFactory(mailing=_running(), status=S.SENT)
        mailing = MailingFactory(start_datetime=timezone.now() - timedelta(seconds=1))
        response = api.post("/activate_mailing/")
        assert response.status_code == 202, response.content
        body = response.json()
        assert (body["queued"], body["task_id"]) == (True, "the-task-id")
        assert queued == [{"retry": False}]
        assert body["provider"]["state"] == "closed"
        assert body["messages_total"] == 1
        assert body["messages_by_status"]["sent"] == 1
        assert (body["mailings_by_status"]["running"], body["mailings_by_status"]["scheduled"]) == (1, 1)
        # The pass runs in a worker, not in the request: the due mailing has not started yet.
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SCHEDULED

    def test_post_puts_the_pass_on_the_ticks_queue(self, api, settings):
        from backoffice.celery import app

        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(settings.CELERY_TICK_QUEUE)
            response = api.post("/activate_mailing/")
            assert response.status_code == 202, response.content
            assert connection.default_channel.queue_purge(settings.CELERY_TICK_QUEUE) == 1

    def test_get_answers_the_statistics_and_queues_nothing(self, api, monkeypatch):
        def refuse(**options):
            raise AssertionError("GET must not queue a pass")

        monkeypatch.setattr(tasks.process_active_mailings, "apply_async", refuse)
        ClientFactory.create_batch(3)
        mailing = MailingFactory(start_datetime=timezone.now() - timedelta(seconds=1))
        response = api.get("/activate_mailing/")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["queued"], body["task_id"]) == (False, None)
        assert body["provider"]["state"] == "closed"
        assert body["messages_total"] == 0
        assert body["mailings_by_status"]["scheduled"] == 1
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SCHEDULED

    def test_it_shows_an_open_provider_circuit(self, api):
        from mailings.sending.circuit import Circuit, CircuitSettings

        Circuit(CircuitSettings()).open("HTTP 401: the provider refused our token")
        provider = api.get("/activate_mailing/").json()["provider"]
        assert provider["state"] == "open"
        assert provider["reason"] == "HTTP 401: the provider refused our token"

    def test_it_needs_credentials_and_the_change_permission(self, anon_api, readonly_api):
        assert anon_api.post("/activate_mailing/").status_code == 401
        assert readonly_api.post("/activate_mailing/").status_code == 403


class TestEditsThatWouldBreakTheEngine:
    def test_a_finished_mailing_can_no_longer_be_changed(self, api):
        mailing = MailingFactory(status=Mailing.Status.FINISHED)
        response = api.patch(f"/mailings/{mailing.pk}/", {"message_text": "too late"})
        assert response.status_code == 409
        assert "can no longer be changed" in response.json()["detail"]

    def test_the_start_of_a_started_mailing_can_no_longer_change(self, api):
        mailing = _running()
        later = (timezone.now() + timedelta(hours=1)).isoformat()
        assert api.patch(f"/mailings/{mailing.pk}/", {"start_datetime": later}).status_code == 409
        assert api.patch(f"/mailings/{mailing.pk}/", {"message_text": "still fine"}).status_code == 200

    def test_an_edit_never_writes_back_a_stale_status(self):
        mailing = _running()
        stale = Mailing.objects.get(pk=mailing.pk)
        services.mailing_pause(mailing=mailing)
        services.mailing_update(mailing=stale, message_text="edited")
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.PAUSED

    def test_a_message_on_the_wire_cannot_be_changed_or_deleted(self, admin_api):
        message = MessageFactory(mailing=_running(), status=S.SENDING, token=5)
        assert admin_api.patch(f"/messages/{message.pk}/", {"status": "failed"}).status_code == 409
        assert admin_api.delete(f"/messages/{message.pk}/").status_code == 409
        assert Message.objects.get(pk=message.pk).status == S.SENDING

    def test_sending_is_the_engines_word_only(self, admin_api):
        message = MessageFactory(mailing=_running())
        response = admin_api.patch(f"/messages/{message.pk}/", {"status": "sending"})
        assert response.status_code == 400
        assert "status" in response.json()

    def test_a_message_does_not_move_to_another_mailing(self, admin_api):
        message = MessageFactory(mailing=_running())
        other = _running()
        response = admin_api.patch(f"/messages/{message.pk}/", {"mailing": other.pk})
        assert response.status_code == 400
        assert "mailing" in response.json()

    def test_nothing_waits_in_a_closed_mailing(self, admin_api):
        mailing = MailingFactory(status=Mailing.Status.FINISHED)
        body = {"mailing": mailing.pk, "client": ClientFactory().pk, "status": "pending"}
        assert admin_api.post("/messages/", body).status_code == 400
        assert not mailing.messages.exists()

    def test_setting_a_message_pending_makes_it_due_again(self, admin_api):
        message = MessageFactory(mailing=_running(), status=S.FAILED, token=3)
        assert admin_api.patch(f"/messages/{message.pk}/", {"status": "pending"}).status_code == 200
        message.refresh_from_db()
        assert (message.status, message.token) == (S.PENDING, None)
        assert message.next_attempt_at <= timezone.now()

    def test_an_edit_never_writes_back_engine_columns(self):
        message = MessageFactory(mailing=_running(), status=S.PENDING)
        stale = Message.objects.get(pk=message.pk)
        Message.objects.filter(pk=message.pk).update(status=S.SENT)  # the engine got there first
        services.message_update(message=stale, created_at=timezone.now())
        assert Message.objects.get(pk=message.pk).status == S.SENT


class TestBrokerTrouble:
    def test_activate_mailing_answers_503_when_the_broker_is_down(self, api, monkeypatch):
        from kombu.exceptions import OperationalError

        def down(**kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        monkeypatch.setattr(tasks.process_active_mailings, "apply_async", down)
        response = api.post("/activate_mailing/")
        assert response.status_code == 503
        assert "catches up" in response.json()["detail"]
