"""The sandbox posts delivery reports back (mailings/sandbox_reports.py): signed, after the delay,
with the undelivered share, duplicates and older reports arriving late; none unless asked."""

import asyncio
import json
from contextlib import asynccontextmanager
from datetime import datetime

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from mailings.delivery_reports import sign
from mailings.sandbox import Sandbox, SandboxConfig
from mailings.sandbox_reports import ReportConfig

TOKEN = "tok-sandbox-reports"  # pragma: allowlist secret
SECRET = "report-secret"  # pragma: allowlist secret


@asynccontextmanager
async def back_office(statuses: list[int] | None = None):
    """A stand-in for POST /providers/default/delivery-reports/ keeping each request's headers and raw body."""
    seen: list[tuple[dict, bytes]] = []
    answers = list(statuses or [])

    async def reports(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        status = answers.pop(0) if answers else 200
        return web.json_response({"received": 1, "applied": 1, "stale": 0, "late": 0, "unknown": 0}, status=status)

    app = web.Application()
    app.router.add_post("/reports/", reports)
    async with TestServer(app, host="127.0.0.1") as server:
        yield f"http://127.0.0.1:{server.port}/reports/", seen


async def _send_and_wait(sandbox: Sandbox, ids: range, wait: float) -> dict:
    async with TestServer(sandbox.app(), host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}"
        for msg_id in ids:
            body = {"id": msg_id, "phone": 79001234567, "text": "Hello"}
            async with session.post(f"{url}/send/{msg_id}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}):
                pass
        await asyncio.sleep(wait)
        async with session.get(f"{url}/stats/reports") as response:
            return await response.json()


def _run(ids: range, wait: float = 0.5, statuses: list[int] | None = None, **knobs) -> tuple[list, dict]:
    async def scenario():
        async with back_office(statuses) as (reports_url, seen):
            config = ReportConfig(url=reports_url, secret=SECRET, delay=0.05, seed=3, **knobs)
            stats = await _send_and_wait(Sandbox(SandboxConfig(token=TOKEN, reports=config)), ids, wait)
            return seen, stats

    return asyncio.run(scenario())


class TestReports:
    def test_each_accepted_message_gets_one_signed_report(self):
        seen, stats = _run(range(1, 6))
        assert len(seen) == 5
        for headers, raw in seen:
            assert headers["X-Signature"] == sign(secret=SECRET, body=raw)
            report = json.loads(raw)
            assert report["status"] == "delivered"
            assert datetime.fromisoformat(report["reported_at"]).tzinfo is not None
        assert sorted(json.loads(raw)["id"] for _, raw in seen) == [1, 2, 3, 4, 5]
        assert stats["final"] == dict.fromkeys(map(str, range(1, 6)), "delivered")
        assert stats["outcomes"]["applied"] == 5

    def test_none_unless_asked(self):
        async def scenario():
            async with back_office() as (_, seen):
                stats = await _send_and_wait(Sandbox(SandboxConfig(token=TOKEN)), range(1, 4), 0.3)
                return seen, stats

        seen, stats = asyncio.run(scenario())
        assert seen == []
        assert stats["final"] == {}

    def test_the_undelivered_share(self):
        seen, stats = _run(range(1, 201), undelivered_rate=0.3)
        undelivered = [json.loads(raw) for _, raw in seen if json.loads(raw)["status"] == "undelivered"]
        assert 30 < len(undelivered) < 90
        assert all(report["error_code"] == "sandbox-undelivered" for report in undelivered)
        assert sum(1 for v in stats["final"].values() if v == "undelivered") == len(undelivered)

    def test_duplicates_and_older_reports_come_after_the_final_one(self):
        seen, stats = _run(range(1, 101), wait=1.0, duplicate_rate=0.5, reorder_rate=0.5)
        by_id: dict[int, list[dict]] = {}
        for _, raw in seen:
            report = json.loads(raw)
            by_id.setdefault(report["id"], []).append(report)
        duplicated = [reports for reports in by_id.values() if len(reports) >= 2 and reports[0] == reports[1]]
        reordered = [r for r in by_id.values() if r[-1]["status"] != r[0]["status"]]
        assert 25 < len(duplicated) < 75
        assert 25 < len(reordered) < 75
        for reports in reordered:  # the older one, arriving last, says the opposite of the final one
            assert reports[-1]["reported_at"] < reports[0]["reported_at"]
            assert stats["final"][str(reports[0]["id"])] == reports[0]["status"]

    def test_a_report_the_back_office_does_not_take_is_posted_again(self):
        seen, stats = _run(range(1, 2), wait=1.0, statuses=[503, 429])
        assert len(seen) == 3
        assert stats["posts"] == {"503": 1, "429": 1, "200": 1}
