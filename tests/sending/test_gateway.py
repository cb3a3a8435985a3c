import asyncio
import json
import socket
import time
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from mailings.gateway import Gateway, GatewayConfig, Outcome, SendResult, classify
from mailings.sandbox import Sandbox, SandboxConfig

TOKEN = "tok-8f3kQz-sandbox-secret"  # pragma: allowlist secret
PHONE = "79001234567"


class TestClassify:
    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            (200, b'{"code": 0, "message": "OK"}', Outcome.SENT),
            (200, b'{"code": 0}', Outcome.SENT),
            (200, b'{"code": 1, "message": "queue full"}', Outcome.TRANSIENT),
            (200, b"<html>busy</html>", Outcome.TRANSIENT),
            (200, b"", Outcome.TRANSIENT),
            (200, b'{"code": "OK"', Outcome.TRANSIENT),
            (200, b"[0]", Outcome.TRANSIENT),
            (200, b'[{"code": 0}]', Outcome.TRANSIENT),
            (200, b'{"code": false}', Outcome.TRANSIENT),
            (200, b'{"code": "0"}', Outcome.TRANSIENT),
            (200, b'{"code": null}', Outcome.TRANSIENT),
            (200, b'{"status": 0}', Outcome.TRANSIENT),
            (200, b"0", Outcome.TRANSIENT),
        ],
    )
    def test_it_sends_only_on_200_with_code_0(self, status, body, expected):
        outcome, reason = classify(status, body)
        assert outcome is expected
        assert (reason == "") is (expected is Outcome.SENT)

    def test_it_quotes_the_bad_body_in_the_reason(self):
        outcome, reason = classify(200, b"<html>busy</html>")
        assert outcome is Outcome.TRANSIENT
        assert "<html>busy</html>" in reason

    def test_it_quotes_at_most_4_kb_of_a_body(self):
        _, reason = classify(500, b"x" * 5000)
        assert len(reason) < 4200

    @pytest.mark.parametrize("status", [401, 403])
    def test_it_reports_a_refused_token(self, status):
        outcome, reason = classify(status, b'{"code": 401, "message": "invalid token"}')
        assert outcome is Outcome.UNAUTHORIZED
        assert str(status) in reason

    @pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
    def test_it_retries_overload_and_server_errors(self, status):
        outcome, reason = classify(status, b'{"code": 1, "message": "try later"}')
        assert outcome is Outcome.TRANSIENT
        assert str(status) in reason

    @pytest.mark.parametrize("status", [400, 404, 409, 422])
    def test_it_gives_up_on_other_client_errors(self, status):
        outcome, reason = classify(status, b'{"code": 400, "message": "phone must be an integer"}')
        assert outcome is Outcome.PERMANENT
        assert f"HTTP {status}" in reason
        assert "phone must be an integer" in reason

    @pytest.mark.parametrize("status", [302, 204, 100])
    def test_it_retries_unexpected_statuses(self, status):
        outcome, reason = classify(status, b"")
        assert outcome is Outcome.TRANSIENT
        assert str(status) in reason


# --- a real sandbox on loopback -------------------------------------------------------------


class SandboxServer(TestServer):
    """aiohttp's TestServer, but like `Sandbox.serve()` (a plain AppRunner): a client that hangs up
    does not cancel the handler, so the sandbox sees it gone and counts the request as dropped.
    (TestServer itself forces `handler_cancellation=True`.)"""

    async def _make_runner(self, **kwargs):
        kwargs["handler_cancellation"] = False
        return await super()._make_runner(**kwargs)


@asynccontextmanager
async def serving(sandbox: Sandbox):
    """The sandbox behind a real HTTP server on 127.0.0.1 (random port); yields its base URL."""
    async with SandboxServer(sandbox.app(), host="127.0.0.1") as server:
        yield f"http://127.0.0.1:{server.port}"


def gateway_config(url: str, *, token: str = TOKEN, read_timeout: float = 5.0) -> GatewayConfig:
    return GatewayConfig(url=url, token=token, connect_timeout=2.0, read_timeout=read_timeout, concurrency=4)


async def fetch_stats(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/stats") as response:
        assert response.status == 200
        return await response.json()


def send_once(sandbox: Sandbox, *, message_id: int = 42, wait_after: float = 0.0, **send_kwargs):
    """Send one message through a Gateway to a served sandbox; (result, stats read `wait_after` s later)."""
    token = send_kwargs.pop("token", TOKEN)
    read_timeout = send_kwargs.pop("read_timeout", 5.0)

    async def scenario():
        async with serving(sandbox) as url:
            async with Gateway(gateway_config(url, token=token, read_timeout=read_timeout)) as gateway:
                result = await gateway.send(message_id=message_id, phone=PHONE, text="Hello", **send_kwargs)
            await asyncio.sleep(wait_after)
            return result, await fetch_stats(url)

    return asyncio.run(scenario())


class TestGatewayAgainstTheSandbox:
    def test_it_sends_and_the_sandbox_accepts(self):
        received = []
        sandbox = Sandbox(SandboxConfig(token=TOKEN, seed=1))
        app = sandbox.app()

        @aiohttp.web.middleware
        async def keep_body(request, handler):
            if request.method == "POST":
                received.append((request.path, request.headers.get("Authorization"), await request.json()))
            return await handler(request)

        app.middlewares.append(keep_body)

        async def scenario():
            async with SandboxServer(app, host="127.0.0.1") as server:
                url = f"http://127.0.0.1:{server.port}"
                async with Gateway(gateway_config(url)) as gateway:
                    result = await gateway.send(message_id=42, phone=PHONE, text="Hello, world")
                return result, await fetch_stats(url)

        result, stats = asyncio.run(scenario())

        assert isinstance(result, SendResult)
        assert (result.message_id, result.outcome, result.status, result.error) == (42, Outcome.SENT, 200, "")
        assert result.duration >= 0
        assert stats["accepted"] == 1
        assert stats["outcomes"] == {"accepted": 1}
        assert sandbox.state.accepted.keys() == {42}
        path, authorization, body = received[0]
        assert path == "/send/42"
        assert authorization == f"Bearer {TOKEN}"
        assert body == {"id": 42, "phone": 79001234567, "text": "Hello, world"}
        assert type(body["id"]) is int
        assert type(body["phone"]) is int

    def test_it_reports_a_wrong_token_as_unauthorized(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN))
        result, stats = send_once(sandbox, token="tok-wrong-Zx9-not-the-one")
        assert result.outcome is Outcome.UNAUTHORIZED
        assert result.status == 401
        assert "tok-wrong-Zx9-not-the-one" not in result.error
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"unauthorized": 1}

    def test_it_retries_server_errors(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, error_rate=1.0, seed=3))
        result, stats = send_once(sandbox)
        assert result.outcome is Outcome.TRANSIENT
        assert result.status in (500, 502, 503, 429)
        assert str(result.status) in result.error
        assert stats["accepted"] == 0

    def test_it_retries_a_200_with_garbage(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, garbage_rate=1.0, seed=5))
        result, stats = send_once(sandbox)
        assert result.outcome is Outcome.TRANSIENT
        assert result.status == 200
        assert "HTTP 200" in result.error
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"garbage": 1}

    def test_it_times_out_and_the_sandbox_drops_the_request(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, timeout_rate=1.0, hang_seconds=2.0))
        started = time.monotonic()
        result, stats = send_once(sandbox, read_timeout=0.3, wait_after=2.2)
        assert result.outcome is Outcome.TRANSIENT
        assert result.status is None
        assert "timed out" in result.error  # by our read timeout: the sandbox was still hanging
        assert time.monotonic() - started >= 2.2
        # After its hang the sandbox sees the client gone: dropped, not accepted.
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"dropped": 1}

    def test_it_hangs_up_at_the_deadline(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, latency_ms=1000))
        result, stats = send_once(sandbox, deadline=time.time() + 0.2, wait_after=1.2)
        assert result.outcome is Outcome.TRANSIENT
        assert result.status is None
        # Before the sandbox's answer (1 s) and well before the read timeout (5 s): at the deadline.
        assert "timed out" in result.error
        assert stats["accepted"] == 0
        assert stats["outcomes"] == {"dropped": 1}

    @pytest.mark.parametrize("past", [0.0, 0.5])
    def test_it_does_not_send_once_the_deadline_has_passed(self, past):
        # The deadline "bounds the whole request": one already over must not let a request be accepted.
        sandbox = Sandbox(SandboxConfig(token=TOKEN, latency_ms=300))
        result, stats = send_once(sandbox, deadline=time.time() - past, wait_after=0.5)
        assert result.outcome is Outcome.TRANSIENT
        assert result.error == "not sent: the deadline had passed"
        assert stats["requests"] == 0

    def test_it_retries_a_refused_connection(self):
        # A bound socket that does not listen: connecting to its port is refused.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
            blocker.bind(("127.0.0.1", 0))
            port = blocker.getsockname()[1]

            async def scenario():
                async with Gateway(gateway_config(f"http://127.0.0.1:{port}")) as gateway:
                    return await gateway.send(message_id=1, phone=PHONE, text="Hello")

            result = asyncio.run(scenario())
        assert result.outcome is Outcome.TRANSIENT
        assert result.status is None
        assert "Connect" in result.error
        assert TOKEN not in result.error

    def test_it_counts_a_message_sent_twice_as_a_duplicate(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN))

        async def scenario():
            async with serving(sandbox) as url, Gateway(gateway_config(url)) as gateway:
                first = await gateway.send(message_id=7, phone=PHONE, text="Hello")
                second = await gateway.send(message_id=7, phone=PHONE, text="Hello")
                return first, second, await fetch_stats(url)

        first, second, stats = asyncio.run(scenario())
        assert (first.outcome, second.outcome) == (Outcome.SENT, Outcome.SENT)
        assert stats["accepted"] == 1
        assert stats["duplicates"] == 1
        assert stats["duplicate_ids"] == [7]

    def test_it_sends_concurrently(self):
        sandbox = Sandbox(SandboxConfig(token=TOKEN, latency_ms=200))

        async def scenario():
            async with serving(sandbox) as url, Gateway(gateway_config(url)) as gateway:
                results = await asyncio.gather(
                    *(gateway.send(message_id=i, phone=PHONE, text="Hello") for i in range(1, 9))
                )
                return results, await fetch_stats(url)

        results, stats = asyncio.run(scenario())
        assert [r.outcome for r in results] == [Outcome.SENT] * 8
        assert stats["accepted"] == 8
        # concurrency=4: four requests at a time at the provider (each waits 200 ms there), never more.
        assert stats["most_in_flight"] == 4


class TestTokenSecrecy:
    @pytest.mark.parametrize(
        "config",
        [
            SandboxConfig(token=TOKEN, error_rate=1.0, seed=1),
            SandboxConfig(token=TOKEN, garbage_rate=1.0, seed=2),
            SandboxConfig(token="tok-the-server-wants-this"),
            SandboxConfig(token=TOKEN, timeout_rate=1.0, hang_seconds=0.5),
        ],
        ids=["error", "garbage", "unauthorized", "timeout"],
    )
    def test_it_never_puts_the_token_in_the_error(self, config):
        result, _ = send_once(Sandbox(config), read_timeout=0.2, wait_after=0.5)
        assert result.outcome is not Outcome.SENT
        assert result.error
        assert TOKEN not in result.error
        assert "Bearer" not in result.error

    def test_it_never_puts_the_token_in_a_bad_request_error(self):
        # A phone that is not 7XXXXXXXXXX: the sandbox answers 400 and quotes the problem, never the token.
        sandbox = Sandbox(SandboxConfig(token=TOKEN))

        async def scenario():
            async with serving(sandbox) as url, Gateway(gateway_config(url)) as gateway:
                return await gateway.send(message_id=3, phone="89001234567", text="Hello")

        result = asyncio.run(scenario())
        assert result.outcome is Outcome.PERMANENT
        assert result.status == 400
        assert "phone" in result.error
        assert TOKEN not in result.error


def test_the_sandbox_answer_is_json_the_classifier_accepts():
    # The sandbox's own success body is what classify() calls sent (the two agree on the contract).
    assert classify(200, json.dumps({"code": 0, "message": "OK"}).encode())[0] is Outcome.SENT
