"""The sandbox provider's delivery reports: after accepting a message it posts a report back to the
back-office (`POST /providers/<name>/delivery-reports/`, signed with X-Signature), as a real
provider sends its DLRs. Off unless `url` is set (`--reports-url`).

Knobs: `delay` seconds after acceptance, plus up to `jitter` more (reports then arrive out of the
order of sending); `undelivered_rate` of the messages are reported undelivered (error code
`sandbox-undelivered`); `duplicate_rate` of the reports are posted twice; `reorder_rate` of the
messages also get an older report with the opposite status, posted 0.1 s after the final one
(with jitter either may come first; the back-office must end with the final one). A post the
back-office does not take (unreachable, 5xx, 429) is tried again, up to `attempts` times.
`GET /stats/reports` says what each message's final report said and how the back-office answered.
"""

import asyncio
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

from mailings.delivery_reports import sign

logger = logging.getLogger(__name__)

UNDELIVERED_CODE = "sandbox-undelivered"
# Reports go over at most this many connections at once, as a provider posts its DLRs: a burst of
# reports due together waits for them rather than open one connection (and a web thread, and a
# database connection behind it) per report.
POST_CONNECTIONS = 8


@dataclass
class ReportConfig:
    url: str = ""  # the back-office's POST /providers/<name>/delivery-reports/; "" sends none
    secret: str = ""
    delay: float = 1.0
    jitter: float = 0.0
    undelivered_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    attempts: int = 10
    seed: int | None = None


@dataclass
class ReportState:
    final: dict[int, str] = field(default_factory=dict)  # msgId: the status of its latest report
    posts: Counter = field(default_factory=Counter)  # the back-office's answers, by status or "unreachable"
    outcomes: Counter = field(default_factory=Counter)  # applied, stale, late, unknown: summed from its answers

    def stats(self) -> dict:
        return {
            "final": {str(k): v for k, v in self.final.items()},
            "posts": dict(self.posts),
            "outcomes": dict(self.outcomes),
        }


class DeliveryReporter:
    def __init__(self, config: ReportConfig):
        self.config = config
        self.state = ReportState()
        self.random = random.Random(config.seed)
        self._tasks: set[asyncio.Task] = set()
        self._session = None

    def accepted(self, msg_id: int) -> None:
        """A message was accepted: schedule its report(s). Nothing while reports are off."""
        if not self.config.url or msg_id in self.state.final:  # a duplicate send gets no second report
            return
        cfg, roll = self.config, self.random
        status = "undelivered" if roll.random() < cfg.undelivered_rate else "delivered"
        self.state.final[msg_id] = status
        delay = cfg.delay + roll.random() * cfg.jitter
        reported_at = datetime.now(UTC) + timedelta(seconds=delay)
        report = _report(msg_id, status, reported_at)
        self._later(delay, report)
        if roll.random() < cfg.duplicate_rate:
            self._later(delay + roll.random() * cfg.jitter + 0.05, report)
        if roll.random() < cfg.reorder_rate:  # an older report, opposite status, arriving after the final one
            older = _report(
                msg_id, "delivered" if status == "undelivered" else "undelivered", reported_at - timedelta(seconds=1)
            )
            self._later(delay + 0.1 + roll.random() * cfg.jitter, older)

    def _later(self, delay: float, report: dict) -> None:
        task = asyncio.get_running_loop().create_task(self._post_after(delay, report))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_after(self, delay: float, report: dict) -> None:
        import aiohttp

        await asyncio.sleep(delay)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=10), connector=aiohttp.TCPConnector(limit=POST_CONNECTIONS)
            )
        body = json.dumps(report).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(secret=self.config.secret, body=body)}
        for attempt in range(self.config.attempts):
            try:
                async with self._session.post(self.config.url, data=body, headers=headers) as response:
                    self.state.posts[str(response.status)] += 1
                    if response.status == 200:
                        for key, value in (await response.json()).items():
                            if key != "received":
                                self.state.outcomes[key] += value
                        return
                    if response.status < 500 and response.status != 429:
                        logger.warning("delivery report refused: %s %s", response.status, await response.text())
                        return
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self.state.posts["unreachable"] += 1
                logger.warning("delivery report not posted to %s: %s", self.config.url, exc)
            await asyncio.sleep(min(0.2 * 2**attempt, 5))

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({**self.state.stats(), "pending": len(self._tasks)})

    def route(self, app: web.Application) -> None:
        app.router.add_get("/stats/reports", self.stats)
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _report(msg_id: int, status: str, reported_at: datetime) -> dict:
    code = UNDELIVERED_CODE if status == "undelivered" else None
    return {"id": msg_id, "status": status, "error_code": code, "reported_at": reported_at.isoformat()}


def add_report_arguments(parser) -> None:
    """sandbox_gateway's knobs for the reports."""
    parser.add_argument("--reports-url", default="", help="post delivery reports here (default: none are sent)")
    parser.add_argument("--report-secret", default=None, help="their HMAC key (default: DELIVERY_REPORT_SECRET)")
    parser.add_argument("--report-delay", type=float, default=1.0, help="seconds from acceptance to the report")
    parser.add_argument("--report-jitter", type=float, default=0.0, help="up to this many seconds more, at random")
    parser.add_argument("--undelivered-rate", type=float, default=0.0, help="share of messages reported undelivered")
    parser.add_argument("--report-duplicate-rate", type=float, default=0.0, help="share of reports posted twice")
    parser.add_argument(
        "--report-reorder-rate", type=float, default=0.0, help="share of messages that also get an older report, later"
    )


def report_config(options: dict, *, secret: str, seed: int | None) -> ReportConfig:
    for name in ("undelivered_rate", "report_duplicate_rate", "report_reorder_rate"):
        if not 0 <= options[name] <= 1:
            raise ValueError(f"--{name.replace('_', '-')} is a share between 0 and 1")
    return ReportConfig(
        url=options["reports_url"],
        secret=options["report_secret"] if options["report_secret"] is not None else secret,
        delay=options["report_delay"],
        jitter=options["report_jitter"],
        undelivered_rate=options["undelivered_rate"],
        duplicate_rate=options["report_duplicate_rate"],
        reorder_rate=options["report_reorder_rate"],
        seed=seed,
    )
