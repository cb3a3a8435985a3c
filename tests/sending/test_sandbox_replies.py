"""The sandbox plays the people who reply: `POST /replies` and `stop_rate` deliver replies to the
back-office's inbound endpoint (here a real HTTP server that records what it is sent)."""

import asyncio
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from mailings.sandbox import Sandbox, SandboxConfig

TOKEN = "tok-sandbox-replies"  # pragma: allowlist secret
SECRET = "inbound-secret"  # pragma: allowlist secret


@asynccontextmanager
async def back_office(status: int = 200):
    """A stand-in for POST /inbound/default/ that keeps each request's headers and body."""
    seen: list[tuple[dict, dict]] = []

    async def inbound(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.json()))
        return web.json_response({"received": 1, "suppressed": 1}, status=status)

    app = web.Application()
    app.router.add_post("/inbound/default/", inbound)
    async with TestServer(app, host="127.0.0.1") as server:
        yield f"http://127.0.0.1:{server.port}/inbound/default/", seen


@asynccontextmanager
async def running(sandbox: Sandbox):
    async with TestServer(sandbox.app(), host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{server.port}"


async def _post(session, url: str, **kwargs) -> tuple[int, dict]:
    async with session.post(url, **kwargs) as response:
        return response.status, await response.json(content_type=None)


def _send_body(msg_id: int, phone: int = 79001234567) -> dict:
    return {"id": msg_id, "phone": phone, "text": "Hello"}


class TestReplies:
    def test_a_reply_is_delivered_with_the_secret_and_the_time(self):
        async def scenario():
            async with back_office() as (inbound_url, seen):
                sandbox = Sandbox(SandboxConfig(token=TOKEN, inbound_url=inbound_url, inbound_secret=SECRET))
                async with running(sandbox) as (session, url):
                    answer = await _post(session, f"{url}/replies", json={"phone": "79001234567", "text": "STOP"})
                    return answer, seen, sandbox.state.stats()

        (status, answer), seen, stats = asyncio.run(scenario())
        assert status == 200
        assert answer == {"status": 200, "answer": {"received": 1, "suppressed": 1}}
        [(headers, body)] = seen
        assert headers["Authorization"] == f"Bearer {SECRET}"
        assert (body["phone"], body["text"]) == ("79001234567", "STOP")
        assert body["received_at"].endswith("+00:00")
        assert stats["replies"] == {"200": 1}

    def test_a_refusal_by_the_back_office_is_passed_on(self):
        async def scenario():
            async with back_office(status=401) as (inbound_url, _):
                sandbox = Sandbox(SandboxConfig(token=TOKEN, inbound_url=inbound_url, inbound_secret="wrong"))
                async with running(sandbox) as (session, url):
                    return await _post(session, f"{url}/replies", json={"phone": 79001234567, "text": "STOP"})

        status, answer = asyncio.run(scenario())
        assert status == 502
        assert answer["status"] == 401

    def test_a_malformed_request_or_no_inbound_url_is_refused(self):
        async def scenario():
            results = []
            async with running(Sandbox(SandboxConfig(token=TOKEN))) as (session, url):
                results.append(await _post(session, f"{url}/replies", json={"phone": "7900", "text": "STOP"}))
            sandbox = Sandbox(SandboxConfig(token=TOKEN, inbound_url="http://127.0.0.1:9/"))
            async with running(sandbox) as (session, url):
                results.append(await _post(session, f"{url}/replies", data="not json"))
                results.append(await _post(session, f"{url}/replies", json={"phone": True, "text": "STOP"}))
                results.append(await _post(session, f"{url}/replies", json={"phone": "79001234567"}))
            return results

        statuses = [status for status, _ in asyncio.run(scenario())]
        assert statuses == [409, 400, 400, 400]


class TestStopRate:
    def test_accepted_messages_are_answered_stop_at_the_rate(self):
        async def scenario():
            async with back_office() as (inbound_url, seen):
                config = SandboxConfig(
                    token=TOKEN, inbound_url=inbound_url, inbound_secret=SECRET, stop_rate=1.0, seed=1
                )
                sandbox = Sandbox(config)
                async with running(sandbox) as (session, url):
                    auth = {"Authorization": f"Bearer {TOKEN}"}
                    for n in range(3):
                        await _post(session, f"{url}/send/{n}", json=_send_body(n, 79001234560 + n), headers=auth)
                    for _ in range(50):
                        if len(seen) == 3:
                            break
                        await asyncio.sleep(0.02)
                    return seen

        seen = asyncio.run(scenario())
        assert sorted(body["phone"] for _, body in seen) == ["79001234560", "79001234561", "79001234562"]
        assert {body["text"] for _, body in seen} == {"STOP"}

    def test_without_a_stop_rate_nothing_is_replied_and_answers_roll_as_before(self):
        async def scenario(config):
            async with back_office() as (inbound_url, seen):
                sandbox = Sandbox(SandboxConfig(token=TOKEN, inbound_url=inbound_url, **config))
                async with running(sandbox) as (session, url):
                    auth = {"Authorization": f"Bearer {TOKEN}"}
                    statuses = [
                        (await _post(session, f"{url}/send/{n}", json=_send_body(n), headers=auth))[0]
                        for n in range(20)
                    ]
                    by_phone = await (await session.get(f"{url}/stats/phones")).json()
                    return statuses, seen, by_phone

        plain, seen, by_phone = asyncio.run(scenario({"error_rate": 0.5, "seed": 3}))
        stopping, _, _ = asyncio.run(scenario({"error_rate": 0.5, "seed": 3, "stop_rate": 0.5}))
        assert seen == []
        assert plain == stopping  # the STOP rolls come from their own generator
        assert by_phone == {"79001234567": ["Hello"] * plain.count(200)}
