import asyncio
import time
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from mailings.sandbox import Sandbox, SandboxConfig

TOKEN = "tok-sandbox-Q7w2-secret"  # pragma: allowlist secret
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def good_body(msg_id: int = 5) -> dict:
    return {"id": msg_id, "phone": 79001234567, "text": "Hello"}


@asynccontextmanager
async def client_for(sandbox: Sandbox):
    """A real HTTP server on 127.0.0.1 (random port) and a session; yields (session, base URL)."""
    async with TestServer(sandbox.app(), host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{server.port}"


async def _call(session, method: str, url: str, **kwargs) -> tuple[int, dict]:
    async with session.request(method, url, **kwargs) as response:
        return response.status, await response.json(content_type=None)


def post_send(sandbox: Sandbox, msg_id: int, body, headers=AUTH) -> tuple[int, dict, dict]:
    """POST one /send/{msg_id}; (status, answer, stats)."""

    async def scenario():
        async with client_for(sandbox) as (session, url):
            kwargs = {"data": body} if isinstance(body, bytes | str) else {"json": body}
            status, answer = await _call(session, "POST", f"{url}/send/{msg_id}", headers=headers, **kwargs)
            _, stats = await _call(session, "GET", f"{url}/stats")
            return status, answer, stats

    return asyncio.run(scenario())


class TestSandboxRefusals:
    @pytest.mark.parametrize(
        "headers",
        [{"Authorization": "Bearer nope"}, {"Authorization": TOKEN}, {"Authorization": f"Token {TOKEN}"}, {}],
        ids=["wrong-token", "no-scheme", "wrong-scheme", "missing"],
    )
    def test_it_refuses_a_wrong_token(self, headers):
        status, answer, stats = post_send(Sandbox(SandboxConfig(token=TOKEN)), 5, good_body(), headers=headers)
        assert status == 401
        assert answer["code"] == 401
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"unauthorized": 1}

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            ({"id": 6, "phone": 79001234567, "text": "Hello"}, "id"),
            ({"id": "5", "phone": 79001234567, "text": "Hello"}, "id"),
            ({"id": True, "phone": 79001234567, "text": "Hello"}, "id"),
            ({"id": 5.0, "phone": 79001234567, "text": "Hello"}, "id"),  # the spec says integer
            ({"phone": 79001234567, "text": "Hello"}, "id"),
            ({"id": 5, "phone": "79001234567", "text": "Hello"}, "phone"),
            ({"id": 5, "phone": 89001234567, "text": "Hello"}, "phone"),
            ({"id": 5, "phone": 7900123456, "text": "Hello"}, "phone"),
            ({"id": 5, "phone": 790012345678, "text": "Hello"}, "phone"),
            ({"id": 5, "phone": 79001234567.0, "text": "Hello"}, "phone"),
            ({"id": 5, "phone": True, "text": "Hello"}, "phone"),
            ({"id": 5, "phone": 79001234567}, "text"),
            ({"id": 5, "phone": 79001234567, "text": 12}, "text"),
            ([5, 79001234567, "Hello"], "object"),
        ],
    )
    def test_it_refuses_a_bad_body(self, body, problem):
        status, answer, stats = post_send(Sandbox(SandboxConfig(token=TOKEN)), 5, body)
        assert status == 400
        assert answer["code"] == 400
        assert problem in answer["message"]
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"bad_request": 1}

    @pytest.mark.parametrize("body", [b"not json", b"", b'{"id": 5,'])
    def test_it_refuses_a_body_that_is_not_json(self, body):
        status, answer, stats = post_send(Sandbox(SandboxConfig(token=TOKEN)), 5, body)
        assert status == 400
        assert "JSON" in answer["message"]
        assert stats["accepted"] == 0

    def test_it_checks_the_token_before_the_body(self):
        status, _, _ = post_send(Sandbox(SandboxConfig(token=TOKEN)), 5, b"not json", headers={})
        assert status == 401


class TestSandboxAccepts:
    def test_it_accepts_a_good_request(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN))
        before = time.time()
        status, answer, stats = post_send(sandbox, 5, good_body(5))
        assert status == 200
        assert answer == {"code": 0, "message": "OK"}
        assert stats["accepted"] == 1
        assert stats["requests"] == 1
        assert stats["duplicates"] == 0
        assert before <= stats["first_accepted_at"] <= time.time()

    def test_it_accepts_the_largest_and_smallest_phones(self):
        for phone in (70000000000, 79999999999):
            status, _, _ = post_send(Sandbox(SandboxConfig(token=TOKEN)), 9, {"id": 9, "phone": phone, "text": ""})
            assert status == 200


class TestSandboxStats:
    def test_it_counts_lists_and_resets(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN))

        async def scenario():
            async with client_for(sandbox) as (session, url):
                for msg_id in (1, 2, 3, 2):
                    status, _ = await _call(
                        session, "POST", f"{url}/send/{msg_id}", headers=AUTH, json=good_body(msg_id)
                    )
                    assert status == 200
                await _call(session, "POST", f"{url}/send/4", headers={}, json=good_body(4))
                await _call(session, "POST", f"{url}/send/4", headers=AUTH, json=good_body(5))
                _, stats = await _call(session, "GET", f"{url}/stats")
                _, accepted = await _call(session, "GET", f"{url}/stats/accepted")
                await _call(session, "POST", f"{url}/send/7", headers=AUTH, json={**good_body(7), "text": "Bye"})
                _, received = await _call(session, "GET", f"{url}/stats/received")
                reset_status, reset = await _call(session, "POST", f"{url}/stats/reset")
                _, after = await _call(session, "GET", f"{url}/stats")
                _, accepted_after = await _call(session, "GET", f"{url}/stats/accepted")
                _, received_after = await _call(session, "GET", f"{url}/stats/received")
                return stats, accepted, received, (reset_status, reset), after, accepted_after, received_after

        before = time.time()
        stats, accepted, received, reset, after, accepted_after, received_after = asyncio.run(scenario())

        assert stats["requests"] == 6
        assert stats["accepted"] == 3
        assert stats["duplicates"] == 1
        assert stats["duplicate_ids"] == [2]
        assert stats["outcomes"] == {"accepted": 4, "unauthorized": 1, "bad_request": 1}
        assert stats["first_accepted_at"] <= stats["last_accepted_at"]

        assert set(accepted) == {"1", "2", "3"}
        assert all(before <= at <= time.time() for at in accepted.values())
        assert accepted["1"] <= accepted["2"] <= accepted["3"]

        # Every request with a valid body, by its text, when it arrived (the refused ones are not there).
        assert set(received) == {"Hello", "Bye"}
        assert len(received["Hello"]) == 4
        assert len(received["Bye"]) == 1
        assert received["Hello"] == sorted(received["Hello"])
        assert received["Hello"][-1] <= received["Bye"][0]
        assert before <= received["Hello"][0] <= accepted["1"]  # it arrives, then it is accepted

        assert reset == (200, {"reset": True})
        assert after["requests"] == after["accepted"] == after["duplicates"] == 0
        assert after["outcomes"] == {}
        assert after["first_accepted_at"] is None
        assert accepted_after == received_after == {}


class TestSandboxKnobs:
    def test_it_delays_the_answer_by_the_latency(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, latency_ms=300))

        async def scenario():
            async with client_for(sandbox) as (session, url):
                started = time.perf_counter()
                status, _ = await _call(session, "POST", f"{url}/send/5", headers=AUTH, json=good_body(5))
                return status, time.perf_counter() - started

        status, elapsed = asyncio.run(scenario())
        assert status == 200
        assert elapsed >= 0.3 - 0.005  # asyncio may wake a timer up to its clock resolution early

    def test_it_answers_errors_at_error_rate_one(self):
        status, answer, stats = post_send(Sandbox(SandboxConfig(token=TOKEN, error_rate=1.0, seed=1)), 5, good_body())
        assert status in (500, 502, 503, 429)
        assert answer["code"] == status
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"error": 1}

    def test_it_mixes_outcomes_by_rate(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, error_rate=0.3, garbage_rate=0.3, seed=42))

        async def scenario():
            async with client_for(sandbox) as (session, url):
                for msg_id in range(1, 201):
                    async with session.post(f"{url}/send/{msg_id}", headers=AUTH, json=good_body(msg_id)) as r:
                        await r.read()
                _, stats = await _call(session, "GET", f"{url}/stats")
                return stats

        outcomes = asyncio.run(scenario())["outcomes"]
        assert sum(outcomes.values()) == 200
        for name in ("accepted", "error", "garbage"):
            assert 30 < outcomes[name] < 110, outcomes


class TestRefuseFirstEvery:
    def test_a_multiple_is_refused_its_first_time_only_and_others_never(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, refuse_first_every=3))
        assert post_send(sandbox, 6, good_body(6))[0] == 400
        status, _, stats = post_send(sandbox, 6, good_body(6))
        assert status == 200
        assert post_send(sandbox, 7, good_body(7))[0] == 200
        stats = post_send(sandbox, 7, good_body(7))[2]
        assert stats["outcomes"]["refused"] == 1
        assert stats["accepted"] == 2
