"""Failover between providers: which answers let a message move to another provider (a definite
refusal, or a request that never left) and which pin it to its provider (no answer after the
request left); and the claim choosing each row's provider while a circuit is open or probing."""

import asyncio
import random
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailings.gateway import Gateway, Outcome, SendResult
from mailings.models import Message, Route
from mailings.routing import RouteTable, ranked
from mailings.sandbox import Sandbox, SandboxConfig
from mailings.sending.assign import assign_providers
from mailings.sending.batch import batch_send
from mailings.sending.circuit import Circuit, Circuits, CircuitSettings, Mode
from mailings.sending.decisions import Action, Row, decide
from mailings.sending.processor import reap_expired_leases
from tests.sending.support import _config, _queued, _running
from tests.sending.test_gateway import PHONE, TOKEN, gateway_config, send_once

S = Message.Status
SETTINGS = CircuitSettings(threshold=3, cooldown=30, refresh=0)


def _result(outcome: Outcome, status: int | None, *, ambiguous: bool = False) -> SendResult:
    return SendResult(1, outcome, status, "trouble", 0.01, ambiguous)


def _decide(result: SendResult, *, movable: bool = True, probing: bool = False):
    row = Row(1, PHONE, None, 0, "UTC", provider="default", movable=movable)
    return decide(
        row,
        result,
        end_ts=time.time() + 3600,
        circuit=Circuit(SETTINGS),
        config=_config(),
        rng=random.Random(1),
        probing=probing,
    )


class TestWhichAnswersPinAMessage:
    """The gateway says whether the provider may have taken a message it did not accept."""

    def test_a_refused_connection_never_left(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
            blocker.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{blocker.getsockname()[1]}"

            async def scenario():
                async with Gateway(gateway_config(url)) as gateway:
                    return await gateway.send(message_id=1, phone=PHONE, text="Hello")

            result = asyncio.run(scenario())
        assert (result.outcome, result.ambiguous) == (Outcome.TRANSIENT, False)

    def test_a_server_error_is_a_definite_no(self):
        result, _ = send_once(Sandbox(SandboxConfig(token=TOKEN, error_rate=1.0, seed=3)))
        assert result.status in (500, 502, 503, 429)
        assert result.ambiguous is False

    def test_a_timeout_after_the_request_left_is_ambiguous(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, timeout_rate=1.0, hang_seconds=1.0))
        result, _ = send_once(sandbox, read_timeout=0.2, wait_after=1.0)
        assert (result.outcome, result.status, result.ambiguous) == (Outcome.TRANSIENT, None, True)

    def test_a_200_without_code_0_is_ambiguous(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, garbage_rate=1.0, seed=5))
        result, _ = send_once(sandbox)
        assert (result.status, result.ambiguous) == (200, True)

    def test_an_accepted_message_is_not_ambiguous(self):
        result, _ = send_once(Sandbox(SandboxConfig(token=TOKEN)))
        assert (result.outcome, result.ambiguous) == (Outcome.SENT, False)


class TestTheRulePerOutcome:
    def test_a_definite_refusal_leaves_the_message_free_to_move(self):
        decision = _decide(_result(Outcome.TRANSIENT, 503))
        assert (decision.action, decision.pinned) == (Action.RETRY, False)

    def test_no_answer_after_the_request_left_pins_it(self):
        decision = _decide(_result(Outcome.TRANSIENT, None, ambiguous=True))
        assert (decision.action, decision.pinned) == (Action.RETRY, True)

    def test_a_failed_probe_without_an_answer_pins_it_too(self):
        decision = _decide(_result(Outcome.TRANSIENT, None, ambiguous=True), probing=True)
        assert (decision.action, decision.pinned) == (Action.HOLD, True)

    def test_a_refused_token_holds_without_pinning_and_soon_when_another_provider_may_take_it(self):
        soon = _decide(_result(Outcome.UNAUTHORIZED, 401))
        assert (soon.action, soon.pinned) == (Action.HOLD, False)
        assert soon.next_attempt_at < timezone.now() + timedelta(seconds=5)
        alone = _decide(_result(Outcome.UNAUTHORIZED, 401), movable=False)
        assert alone.next_attempt_at > timezone.now() + timedelta(seconds=25)  # the circuit's cool-down

    def test_a_permanent_refusal_fails_it(self):
        assert _decide(_result(Outcome.PERMANENT, 400)).action is Action.FAIL


ROUTE = RouteTable.build([("", "", "default", 50), ("", "", "b", 50)])
ENABLED = frozenset({"default", "b"})


def _picked(name: str, n: int) -> list[int]:
    """n message ids whose weighted pick is `name`."""
    return [i for i in range(1, 1000) if ranked(ROUTE.fallback, i, ENABLED)[0] == name][:n]


def _assign(ids, circuits, *, pinned=(), current="default"):
    rows = [(i, PHONE, "900", current, i in pinned) for i in ids]
    return assign_providers(rows, table=ROUTE, enabled=ENABLED, circuits=circuits)


class TestAssignment:
    def test_with_every_circuit_closed_each_message_goes_to_its_pick(self):
        ids = _picked("default", 3) + _picked("b", 3)
        assigned = _assign(ids, Circuits(SETTINGS))
        assert [assigned[i].provider for i in ids] == ["default"] * 3 + ["b"] * 3
        assert all(a.movable for a in assigned.values())

    def test_an_open_circuit_sends_the_messages_it_never_received_to_the_next_provider(self):
        Circuit(SETTINGS).open("down")
        ids = _picked("default", 4)
        assigned = _assign(ids, Circuits(SETTINGS), pinned={ids[0]})
        assert assigned[ids[0]].provider == "default"  # pinned: it waits for its provider
        assert assigned[ids[0]].movable is False
        assert {assigned[i].provider for i in ids[1:]} == {"b"}

    def test_with_no_circuit_closed_a_message_keeps_its_pick(self):
        Circuit(SETTINGS).open("down")
        Circuit(SETTINGS, "b").open("down")
        ids = _picked("b", 2)
        assert {a.provider for a in _assign(ids, Circuits(SETTINGS)).values()} == {"b"}

    def test_a_route_without_an_enabled_provider_holds_its_messages_rather_than_use_another(self):
        rows = [(i, PHONE, "900", "default", False) for i in range(1, 5)]
        only_b = RouteTable.build([("", "900", "b", 1)])
        assigned = assign_providers(rows, table=only_b, enabled=frozenset({"default"}), circuits=Circuits(SETTINGS))
        assert {a.provider for a in assigned.values()} == {"b"}  # not enabled: the sender holds them

    def test_a_provider_past_its_cool_down_gets_one_probe_and_the_others_fail_over(self):
        short = CircuitSettings(cooldown=0.01, refresh=0)
        Circuit(short).open("down")
        time.sleep(0.05)
        circuits = Circuits(short)
        assert circuits.get("default").mode() is Mode.PROBING
        ids = _picked("default", 3)
        assigned = _assign(ids, circuits)
        assert [(assigned[i].provider, assigned[i].probe) for i in ids] == [
            ("default", True),
            ("b", False),
            ("b", False),
        ]


@pytest.mark.django_db(transaction=True)
class TestFailoverThroughTheClaim:
    @pytest.fixture
    def two_providers(self, sandbox_factory, settings):
        b = sandbox_factory(token="token-b")
        a = sandbox_factory()  # `default`: SENDING_API_URL points at the last one started
        settings.SENDING_PROVIDERS = {
            "b": {"url": b.url, "token": "token-b", "parts_per_second": 0, "enabled": True},
        }
        Route.objects.create(provider="default", weight=50)
        Route.objects.create(provider="b", weight=50)
        return a, b

    def _send(self, mailing, ids, token, circuits=None):
        return batch_send(
            mailing_id=mailing.pk,
            message_ids=ids,
            token=token,
            config=_config(),
            circuits=circuits or Circuits(SETTINGS),
        )

    def test_each_message_goes_to_its_pick_and_its_row_says_so(self, two_providers):
        a, b = two_providers
        mailing = _running()
        ids, token = _queued(mailing, 40)
        assert self._send(mailing, ids, token) == {"sent": 40}
        providers = dict(Message.objects.filter(id__in=ids).values_list("id", "provider"))
        assert {i for i, p in providers.items() if p == "default"} == set(a.sandbox.state.accepted)
        assert {i for i, p in providers.items() if p == "b"} == set(b.sandbox.state.accepted)
        assert [i for i in ids if providers[i] != ranked(ROUTE.fallback, i, ENABLED)[0]] == []

    def test_while_a_is_open_its_messages_go_to_b_except_a_pinned_one(self, two_providers):
        a, b = two_providers
        Circuit(SETTINGS).open("A is down")
        mailing = _running()
        ids, token = _queued(mailing, 20)
        pinned = ids[0]
        Message.objects.filter(pk=pinned).update(provider_pinned=True)
        counts = self._send(mailing, ids, token)
        assert counts == {"sent": 19, "hold": 1}
        assert set(b.sandbox.state.accepted) == set(ids[1:])
        assert a.sandbox.state.accepted == {}
        held = Message.objects.get(pk=pinned)
        assert (held.status, held.provider, held.attempts) == (S.PENDING, "default", 0)
        assert set(Message.objects.filter(id__in=ids[1:]).values_list("provider", flat=True)) == {"b"}

    def test_a_timeout_at_a_pins_the_message_to_a(self, sandbox_factory, settings):
        sandbox_factory(timeout_rate=1.0, hang_seconds=1.0)
        mailing = _running()
        ids, token = _queued(mailing, 2)
        batch_send(
            mailing_id=mailing.pk,
            message_ids=ids,
            token=token,
            config=_config(gateway={"read_timeout": 0.2}),
            circuits=Circuits(SETTINGS),
        )
        assert set(Message.objects.filter(id__in=ids).values_list("status", "provider_pinned")) == {(S.PENDING, True)}

    def test_a_disabled_provider_gets_no_request(self, sandbox_factory, settings):
        sandbox = sandbox_factory()
        settings.SENDING_API_ENABLED = False
        mailing = _running()
        ids, token = _queued(mailing, 2)
        counts = batch_send(
            mailing_id=mailing.pk, message_ids=ids, token=token, config=_config(), circuits=Circuits(SETTINGS)
        )
        assert counts == {"hold": 2}
        assert sandbox.stats["requests"] == 0
        assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts", "last_error")) == {
            (S.PENDING, 0, "provider default is not enabled")
        }

    def test_the_reaper_pins_what_a_dead_worker_held(self):
        mailing = _running()
        ids, _ = _queued(mailing, 1)
        Message.objects.filter(pk=ids[0]).update(status=S.SENDING, lease_expires_at=timezone.now())
        assert reap_expired_leases(now=timezone.now() + timedelta(seconds=1)) == 1
        assert Message.objects.get(pk=ids[0]).provider_pinned is True
