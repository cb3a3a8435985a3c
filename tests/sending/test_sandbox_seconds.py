"""`GET /stats/seconds`: what the sandbox provider accepted in each second, in requests and parts."""

import asyncio

from mailings.sandbox import Sandbox, SandboxConfig
from mailings.sandbox_seconds import PerSecond
from tests.sending.test_sandbox import AUTH, TOKEN, _call, client_for

THREE_PARTS = "x" * 400  # GSM-7: 153 characters a part


class TestPerSecond:
    def test_it_counts_requests_and_parts_by_the_second_they_arrived(self):
        seconds = PerSecond()
        seconds.add(arrived=100.2, text="Hello")
        seconds.add(arrived=100.9, text=THREE_PARTS)
        seconds.add(arrived=102.0, text="Привет")
        assert seconds.series() == [
            {"second": 100, "requests": 2, "parts": 4},
            {"second": 101, "requests": 0, "parts": 0},
            {"second": 102, "requests": 1, "parts": 1},
        ]

    def test_it_is_empty_before_any_request(self):
        assert PerSecond().series() == []


def test_the_sandbox_counts_accepted_requests_only():
    sandbox = Sandbox(SandboxConfig(token=TOKEN))

    async def scenario():
        async with client_for(sandbox) as (session, url):
            for msg_id, text in [(1, "Hi"), (2, THREE_PARTS)]:
                body = {"id": msg_id, "phone": 79001234567, "text": text}
                assert (await _call(session, "POST", f"{url}/send/{msg_id}", headers=AUTH, json=body))[0] == 200
            refused = {"id": 3, "phone": 79001234567, "text": "Hi"}
            await _call(session, "POST", f"{url}/send/3", headers={"Authorization": "Bearer no"}, json=refused)
            return (await _call(session, "GET", f"{url}/stats/seconds"))[1]

    series = asyncio.run(scenario())
    assert sum(s["requests"] for s in series) == 2
    assert sum(s["parts"] for s in series) == 4
