"""A mailing's page as its control panel: progress, counts linked to its messages, the buttons its
state allows, cancel behind a confirmation, clone, and every action in its History."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailings.formatting import zone_said
from mailings.models import Mailing, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
MAILINGS = "/admin/mailings/mailing/"
S = Message.Status


def history(mailing: Mailing) -> list[tuple[str, str]]:
    entries = LogEntry.objects.filter(object_id=str(mailing.pk), content_type__model="mailing").order_by("id")
    return [(entry.user.username, entry.get_change_message()) for entry in entries]


def running_with_messages() -> Mailing:
    mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())
    for status in [S.SENT, S.SENT, S.FAILED, S.PENDING, S.PENDING, S.PENDING, S.SENDING]:
        MessageFactory(mailing=mailing, client=ClientFactory(), status=status)
    return mailing


def panel_of(client, mailing: Mailing) -> str:
    page = client.get(f"{MAILINGS}{mailing.pk}/change/").content.decode()
    start = page.index('id="mailing-panel"')
    return page[start : page.index("</section>", start)]


class TestThePanel:
    def test_it_shows_progress_and_counts_linked_to_the_messages_by_status(self, operator):
        mailing = running_with_messages()
        panel = panel_of(operator, mailing)
        assert 'class="mailing-progress"' in panel
        assert "2 / 7" in panel
        log = f"/admin/mailings/message/?mailing__id__exact={mailing.pk}"
        assert f'href="{log}">All 7 messages</a>' in panel
        # In the operators' words: waiting is pending or sending, one link for both.
        assert f'href="{log}&amp;status__exact=pending&amp;status__exact=sending">4 waiting</a>' in panel
        assert f'href="{log}&amp;status__exact=sent">2 sent</a>' in panel
        assert f'href="{log}&amp;status__exact=failed">1 failed</a>' in panel
        assert "{% block mailing_timeline %}" not in panel  # the block is there, empty
        assert 'id="live-counts"' in panel

    def test_it_counts_from_the_kept_counts_not_the_messages(self, operator):
        mailing = running_with_messages()
        operator.get(f"{MAILINGS}{mailing.pk}/change/")  # the session, the content types: cached
        with CaptureQueriesContext(connection) as queries:
            assert "2 / 7" in panel_of(operator, mailing)
        on_messages = [q["sql"] for q in queries if '"mailings_message"' in q["sql"]]
        # The only look at the messages: whether it has one (deleting is refused then), one row at most.
        assert all("LIMIT 1" in sql for sql in on_messages), on_messages

    def test_the_links_lead_to_the_messages_of_that_status(self, operator):
        mailing = running_with_messages()
        MessageFactory(status=S.PENDING)  # another mailing's
        page = operator.get(f"/admin/mailings/message/?mailing__id__exact={mailing.pk}&status__exact=pending")
        assert page.status_code == 200
        shown = page.context_data["cl"].result_list
        assert sorted(m.status for m in shown) == [S.PENDING] * 3
        assert {m.mailing_id for m in shown} == {mailing.pk}

    @pytest.mark.parametrize(
        ("status", "buttons"),
        [
            (Mailing.Status.SCHEDULED, ["launch", "pause", "cancel", "test-message", "clone"]),
            (Mailing.Status.RUNNING, ["pause", "cancel", "test-message", "clone"]),
            (Mailing.Status.PAUSED, ["resume", "cancel", "test-message", "clone"]),
            (Mailing.Status.FINISHED, ["test-message", "clone"]),
            (Mailing.Status.CANCELLED, ["test-message", "clone"]),
        ],
    )
    def test_it_offers_the_actions_its_state_allows(self, operator, status, buttons):
        mailing = MailingFactory(status=status)
        panel = panel_of(operator, mailing)
        names = ["launch", "pause", "resume", "cancel", "test-message", "clone"]
        shown = [name for name in names if f"panel-{name}" in panel]
        assert shown == buttons

    def test_a_viewer_sees_the_progress_but_no_button(self, viewer):
        panel = panel_of(viewer, running_with_messages())
        assert "2 / 7" in panel
        assert "panel-actions" not in panel

    def test_the_buttons_post_with_csrf_and_come_back_to_the_page(self, operator):
        mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())
        assert "csrfmiddlewaretoken" in panel_of(operator, mailing)
        assert operator.get(f"{MAILINGS}{mailing.pk}/control/pause/").status_code == 405
        response = operator.post(f"{MAILINGS}{mailing.pk}/control/pause/", follow=True)
        assert response.redirect_chain[-1][0] == f"{MAILINGS}{mailing.pk}/change/"
        assert "Paused 1 mailing(s)." in response.content.decode()
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.PAUSED
        response = operator.post(f"{MAILINGS}{mailing.pk}/control/pause/", follow=True)
        assert "only a scheduled or running one can be paused" in response.content.decode()

    def test_a_viewer_may_not_press_them(self, viewer):
        mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())
        assert viewer.post(f"{MAILINGS}{mailing.pk}/control/pause/").status_code == 403
        assert viewer.get(f"{MAILINGS}{mailing.pk}/cancel/").status_code == 403
        assert viewer.post(f"{MAILINGS}{mailing.pk}/clone/").status_code == 403
        assert Mailing.objects.count() == 1
        assert Mailing.objects.get().status == Mailing.Status.RUNNING

    def test_an_unknown_control_or_mailing_is_a_404(self, operator):
        mailing = MailingFactory()
        assert operator.post(f"{MAILINGS}{mailing.pk}/control/explode/").status_code == 404
        assert operator.post(f"{MAILINGS}999999/control/pause/").status_code == 404
        assert operator.get(f"{MAILINGS}999999/cancel/").status_code == 404


class TestTheFilterOfAStartedMailing:
    def test_it_says_what_a_new_filter_does_once_started(self, operator):
        running = running_with_messages()
        scheduled = MailingFactory()
        assert (
            "takes its audience again at the next tick"
            in operator.get(f"{MAILINGS}{running.pk}/change/").content.decode()
        )
        page = operator.get(f"{MAILINGS}{scheduled.pk}/change/").content.decode()
        assert "Empty means any." in page
        assert "takes its audience again" not in page


class TestZonesOnReadOnlyTimes:
    def test_a_started_mailing_says_the_zone_of_its_fixed_start(self, operator):
        running = running_with_messages()
        page = operator.get(f"{MAILINGS}{running.pk}/change/").content.decode()
        assert f"({zone_said(timezone.get_current_timezone_name(), at=running.start_datetime)})" in page
        assert 'name="start_datetime_0"' not in page  # not editable
        assert 'name="end_datetime_0"' in page  # still editable, its zone in its help line

    def test_a_finished_mailing_says_the_zone_of_its_start_and_end(self, operator):
        finished = MailingFactory(status=Mailing.Status.FINISHED, started_at=timezone.now())
        page = operator.get(f"{MAILINGS}{finished.pk}/change/").content.decode()
        zone = zone_said(timezone.get_current_timezone_name(), at=finished.end_datetime)
        assert page.count(f"({zone})") == 2

    def test_a_new_mailing_has_no_state_to_show(self, operator):
        page = operator.get(f"{MAILINGS}add/").content.decode()
        assert "Started at" not in page
        assert "Start datetime" in page


class TestCancelAsksFirst:
    def test_the_button_says_what_it_drops_and_cancels_only_on_confirm(self, operator):
        mailing = running_with_messages()
        page = operator.get(f"{MAILINGS}{mailing.pk}/cancel/").content.decode()
        assert "3 waiting messages are dropped" in page
        assert "1 already handed to the provider finish" in page
        assert f'href="{MAILINGS}{mailing.pk}/change/"' in page  # Go back
        assert operator.post(f"{MAILINGS}{mailing.pk}/cancel/").status_code == 200  # no confirm: asks again
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.RUNNING
        assert mailing.messages.filter(status=S.PENDING).count() == 3
        response = operator.post(f"{MAILINGS}{mailing.pk}/cancel/", {"post": "yes"}, follow=True)
        assert response.redirect_chain[-1][0] == f"{MAILINGS}{mailing.pk}/change/"
        assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.CANCELLED
        assert mailing.messages.filter(status=S.CANCELLED).count() == 3

    def test_the_action_asks_too(self, operator):
        first, second = running_with_messages(), running_with_messages()
        chosen = {"action": "cancel", "_selected_action": [first.pk, second.pk]}
        page = operator.post(MAILINGS, chosen).content.decode()
        assert "6 waiting messages are dropped" in page
        assert 'name="_selected_action"' in page
        assert set(Mailing.objects.values_list("status", flat=True)) == {Mailing.Status.RUNNING}
        response = operator.post(MAILINGS, {**chosen, "post": "yes"}, follow=True)
        assert "Cancelled 2 mailing(s)." in response.content.decode()
        assert set(Mailing.objects.values_list("status", flat=True)) == {Mailing.Status.CANCELLED}


class TestHistory:
    def test_every_action_from_the_admin_is_noted_once_with_the_user(self, operator, sandbox_factory):
        sandbox_factory()
        ClientFactory(tag="vip")  # an audience: nothing for the guard rails to ask about
        form = {
            "message_text": "Hello",
            "start_datetime_0": "2030-01-01", "start_datetime_1": "09:00:00",
            "end_datetime_0": "2030-01-02", "end_datetime_1": "09:00:00",
            "filter_operator_code": "", "filter_tag": "", "send_window_start": "", "send_window_end": "",
        }  # fmt: skip
        operator.post(f"{MAILINGS}add/", form)
        mailing = Mailing.objects.get()
        operator.post(f"{MAILINGS}{mailing.pk}/change/", {**form, "message_text": "Hello!", "filter_tag": "vip"})
        operator.post(f"{MAILINGS}{mailing.pk}/change/", {**form, "message_text": "Hello!", "filter_tag": "vip"})
        operator.post(f"{MAILINGS}{mailing.pk}/control/pause/")
        operator.post(f"{MAILINGS}{mailing.pk}/control/resume/")
        operator.post(MAILINGS, {"action": "launch_now", "_selected_action": [mailing.pk]})
        operator.post(f"{MAILINGS}{mailing.pk}/test-message/", {"phone_number": "79001234567"})
        operator.post(f"{MAILINGS}{mailing.pk}/cancel/", {"post": "yes"})
        assert history(mailing) == [
            ("operators", "Added."),
            ("operators", "Changed message text and filter tag."),
            ("operators", "Paused."),
            ("operators", "Resumed."),
            ("operators", "Launched now."),
            ("operators", "Test message sent to 79001234567: the provider accepted it in "
             + history(mailing)[5][1].split(" in ")[1]),
            ("operators", "Cancelled: 0 waiting messages dropped."),
        ]  # fmt: skip
        assert LogEntry.objects.filter(object_id=str(mailing.pk)).order_by("id").first().action_flag == ADDITION

    def test_the_history_page_shows_them(self, operator):
        mailing = MailingFactory(status=Mailing.Status.RUNNING, started_at=timezone.now())
        operator.post(f"{MAILINGS}{mailing.pk}/control/pause/")
        page = operator.get(f"{MAILINGS}{mailing.pk}/history/").content.decode()
        assert "Paused." in page
        assert "operators" in page


class TestClone:
    def test_the_button_makes_a_paused_copy_and_opens_it(self, operator):
        start = timezone.now() - timedelta(days=3)
        original = MailingFactory(
            status=Mailing.Status.FINISHED, message_text="Sale today", filter_tag="vip", filter_operator_code="913",
            start_datetime=start, end_datetime=start + timedelta(hours=5),
        )  # fmt: skip
        response = operator.post(f"{MAILINGS}{original.pk}/clone/", follow=True)
        copy = Mailing.objects.exclude(pk=original.pk).get()
        assert response.redirect_chain[-1][0] == f"{MAILINGS}{copy.pk}/change/"
        assert f"Mailing #{copy.pk} is a copy of #{original.pk}, paused" in response.content.decode()
        assert (copy.message_text, copy.filter_tag, copy.filter_operator_code) == ("Sale today", "vip", "913")
        assert copy.status == Mailing.Status.PAUSED
        assert copy.started_at is None
        assert abs(copy.start_datetime - timezone.now()) < timedelta(minutes=1)
        assert copy.end_datetime - copy.start_datetime == timedelta(hours=5)
        assert history(copy) == [("operators", f"Added as a copy of mailing #{original.pk}, paused.")]
        assert history(original) == [("operators", f"Cloned as mailing #{copy.pk}.")]

    def test_a_future_start_is_kept(self, operator):
        start = timezone.now() + timedelta(days=2)
        original = MailingFactory(start_datetime=start, end_datetime=start + timedelta(days=1))
        operator.post(MAILINGS, {"action": "clone", "_selected_action": [original.pk]})
        copy = Mailing.objects.exclude(pk=original.pk).get()
        assert (copy.start_datetime, copy.end_datetime) == (original.start_datetime, original.end_datetime)
        assert copy.status == Mailing.Status.PAUSED

    def test_clone_is_a_post(self, operator):
        assert operator.get(f"{MAILINGS}{MailingFactory().pk}/clone/").status_code == 405
        assert Mailing.objects.count() == 1

    def test_an_over_long_old_text_is_refused_with_its_count(self, operator):
        original = MailingFactory()
        Mailing.objects.filter(pk=original.pk).update(message_text="x" * 1600)  # saved before the limit
        response = operator.post(f"{MAILINGS}{original.pk}/clone/", follow=True)
        assert response.redirect_chain[-1][0] == f"{MAILINGS}{original.pk}/change/"
        assert f"Mailing {original.pk} not cloned: The text is 11 SMS parts" in response.content.decode()
        assert Mailing.objects.count() == 1
