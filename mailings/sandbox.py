"""A stand-in for the SMS provider (`docs/provider-openapi.yaml`) with knobs for its bad days.

`POST /send/{msgId}` checks the Bearer token and the body (`{"id", "phone", "text"}`)
and answers `{"code": 0, "message": "OK"}`, unless a knob says otherwise:

- `latency_ms`: every request takes this long;
- `error_rate`: answer 500/502/503/429 (not accepted);
- `timeout_rate`: hang for `hang_seconds` before answering (the client times out);
- `garbage_rate`: answer 200 with a body that is not the expected JSON (not accepted);
- `down_after` / `down_for`: after `down_after` seconds, refuse connections for `down_for` seconds;
- `refuse_first_every`: a msgId that is a multiple of it is answered 400 (a permanent refusal) the
  first time it is sent, and as usual after that (to try retrying failed messages).

Like a real server, it drops a request whose client hung up before the answer: it
is not counted as accepted. `GET /stats` reports what was accepted, every msgId
accepted more than once, and the most requests it was answering at once;
`GET /stats/accepted` lists each accepted msgId with the time (Unix seconds) it was
accepted, after the latency; `GET /stats/received` lists each text received with the
times its requests arrived (before the latency, so a request's start);
`GET /stats/phones` lists the texts accepted for each phone; `GET /stats/seconds` the requests
and SMS parts accepted in each second (`sandbox_seconds`); `POST /stats/reset` starts anew.

Replies, as a provider delivers them to the back-office (`POST /inbound/default/`, see
docs/api.md): `POST /replies` with `{"phone", "text"}` sends that reply to `inbound_url` with
`inbound_secret` and `received_at` now, and answers what the back-office answered; with
`stop_rate`, that share of the accepted messages gets a STOP reply from its phone a moment later.
Neither happens unless asked: without `stop_rate` the sandbox answers as it always does.
Delivery reports posted back after acceptance, with their knobs: mailings/sandbox_reports.py.
"""

import asyncio
import json
import logging
import random
import socket
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from mailings.sandbox_reports import DeliveryReporter, ReportConfig
from mailings.sandbox_requests import reply_body_error, valid_send_body
from mailings.sandbox_seconds import PerSecond

logger = logging.getLogger(__name__)


@dataclass
class SandboxConfig:
    token: str
    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    garbage_rate: float = 0.0
    down_after: float | None = None
    down_for: float = 0.0
    hang_seconds: float = 30.0
    seed: int | None = None
    refuse_first_every: int = 0
    inbound_url: str = ""  # the back-office's POST /inbound/<provider>/
    inbound_secret: str = ""
    stop_rate: float = 0.0  # share of accepted messages answered with a STOP reply
    reports: ReportConfig = field(default_factory=ReportConfig)  # delivery reports: off without a URL


@dataclass
class SandboxState:
    accepted: dict[int, float] = field(default_factory=dict)
    duplicates: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    received: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # text: arrivals
    refused: set[int] = field(default_factory=set)  # msgIds refused once (refuse_first_every)
    by_phone: defaultdict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # accepted texts
    seconds: PerSecond = field(default_factory=PerSecond)  # accepted requests and parts per second
    replies: Counter = field(default_factory=Counter)  # replies sent to the back-office, by its answer
    down: bool = False
    in_flight: int = 0
    most_in_flight: int = 0

    def stats(self) -> dict:
        return {
            "requests": sum(self.outcomes.values()),
            "accepted": len(self.accepted),
            "duplicates": sum(self.duplicates.values()),
            "duplicate_ids": sorted(self.duplicates)[:1000],
            "outcomes": dict(self.outcomes),
            "first_accepted_at": min(self.accepted.values(), default=None),
            "last_accepted_at": max(self.accepted.values(), default=None),
            "down": self.down,
            "most_in_flight": self.most_in_flight,
            "replies": dict(self.replies),
        }


class Sandbox:
    def __init__(self, config: SandboxConfig):
        self.config = config
        self.state = SandboxState()
        self.random = random.Random(config.seed)
        self.stop_random = random.Random(config.seed)  # its own: the answers' rolls stay as they were
        self._session = None
        self._replying: set[asyncio.Task] = set()
        self.reporter = DeliveryReporter(config.reports)

    def _refuse(self, request: web.Request) -> web.StreamResponse:
        """Down: the connection is closed without an answer, as a dead server's would be."""
        self.state.outcomes["down"] += 1
        if request.transport is not None:
            request.transport.close()
        raise web.HTTPServiceUnavailable()

    def _client_gone(self, request: web.Request) -> bool:
        return request.transport is None or request.transport.is_closing()

    async def send(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        state.in_flight += 1
        state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            return await self._answer(request)
        finally:
            state.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        cfg, state = self.config, self.state
        arrived = time.time()
        if state.down:
            return self._refuse(request)
        if request.headers.get("Authorization") != f"Bearer {cfg.token}":
            state.outcomes["unauthorized"] += 1
            return web.json_response({"code": 401, "message": "invalid token"}, status=401)
        try:
            msg_id = int(request.match_info["msg_id"])
            body = json.loads(await request.read())
        except ValueError:
            state.outcomes["bad_request"] += 1
            return web.json_response({"code": 400, "message": "body is not JSON"}, status=400)
        problem = valid_send_body(body, msg_id)
        if problem:
            state.outcomes["bad_request"] += 1
            return web.json_response({"code": 400, "message": problem}, status=400)
        state.received[body["text"]].append(arrived)
        every = cfg.refuse_first_every
        if every and msg_id % every == 0 and msg_id not in state.refused:
            state.refused.add(msg_id)
            state.outcomes["refused"] += 1
            return web.json_response({"code": 400, "message": "refused once (refuse_first_every)"}, status=400)

        roll = self.random.random()
        if cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000)
        if roll < cfg.error_rate:
            state.outcomes["error"] += 1
            status = self.random.choice([500, 502, 503, 429])
            return web.json_response({"code": status, "message": "try later"}, status=status)
        roll -= cfg.error_rate
        if roll < cfg.timeout_rate:
            await asyncio.sleep(cfg.hang_seconds)
        else:
            roll -= cfg.timeout_rate
            if roll < cfg.garbage_rate:
                state.outcomes["garbage"] += 1
                return web.Response(text=self.random.choice(["<html>busy</html>", '{"code": "OK"', '{"status": 1}']))
        if state.down:  # went down while this request was being processed: the connection drops
            return self._refuse(request)
        if self._client_gone(request):
            # The client hung up (timed out): the request is dropped, not accepted.
            state.outcomes["dropped"] += 1
            return web.Response(status=499)
        if msg_id in state.accepted:
            state.duplicates[msg_id] += 1
        else:
            state.accepted[msg_id] = time.time()
        state.outcomes["accepted"] += 1
        state.by_phone[body["phone"]].append(body["text"])
        self.reporter.accepted(msg_id)
        state.seconds.add(arrived=arrived, text=body["text"])
        if cfg.stop_rate and self.stop_random.random() < cfg.stop_rate:
            task = asyncio.get_running_loop().create_task(self._reply(str(body["phone"]), "STOP"))
            self._replying.add(task)
            task.add_done_callback(self._replying.discard)
        return web.json_response({"code": 0, "message": "OK"})

    async def _reply(self, phone: str, text: str) -> tuple[int, object]:
        """Deliver one reply to the back-office as a provider would; (its status, its body)."""
        import aiohttp  # the sending side's client: the sandbox's server is aiohttp too

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = {"phone": phone, "text": text, "received_at": datetime.now(UTC).isoformat()}
        headers = {"Authorization": f"Bearer {self.config.inbound_secret}"}
        try:
            async with self._session.post(self.config.inbound_url, json=body, headers=headers) as response:
                answer = await response.json(content_type=None)
                self.state.replies[str(response.status)] += 1
                return response.status, answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.state.replies["unreachable"] += 1
            logger.warning("reply not delivered to %s: %s", self.config.inbound_url, exc)
            return 502, {"detail": f"the back-office did not answer: {exc}"}

    async def replies(self, request: web.Request) -> web.Response:
        """`POST /replies` {"phone", "text"}: a person's reply, delivered to the back-office."""
        if not self.config.inbound_url:
            return web.json_response({"detail": "no inbound URL configured (--inbound-url)"}, status=409)
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"detail": "body is not JSON"}, status=400)
        problem = reply_body_error(body)
        if problem:
            return web.json_response({"detail": problem}, status=400)
        status, answer = await self._reply(str(body["phone"]), body["text"])
        return web.json_response({"status": status, "answer": answer}, status=200 if status < 300 else 502)

    async def phones(self, request: web.Request) -> web.Response:
        return web.json_response({str(k): v for k, v in self.state.by_phone.items()})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.stats())

    async def accepted(self, request: web.Request) -> web.Response:
        return web.json_response({str(k): v for k, v in self.state.accepted.items()})

    async def received(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.received)

    async def seconds(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.seconds.series())

    async def reset(self, request: web.Request) -> web.Response:
        down = self.state.down
        self.state = SandboxState(down=down)
        return web.json_response({"reset": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/send/{msg_id}", self.send)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/stats/accepted", self.accepted)
        app.router.add_get("/stats/received", self.received)
        app.router.add_get("/stats/phones", self.phones)
        app.router.add_get("/stats/seconds", self.seconds)
        app.router.add_post("/stats/reset", self.reset)
        app.router.add_post("/replies", self.replies)
        app.on_cleanup.append(self._close_session)
        self.reporter.route(app)
        return app

    async def _close_session(self, app: web.Application) -> None:
        for task in list(self._replying):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def serve(self, host: str, port: int, ready=None, sock: socket.socket | None = None) -> None:
        """Serve until cancelled; the outage (if configured) closes the listening socket.

        `port` 0 binds a free one; `sock`, a socket bound by whoever started us (it need not listen
        yet), is served instead of binding `host` and `port`. `ready(port)` is called with the port
        that listens."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        if sock:  # as TCPSite's own: the outage's new socket may bind while closed connections linger
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        site = web.SockSite(runner, sock) if sock else web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        host, port = runner.addresses[0][:2]
        if ready:
            ready(port)
        try:
            if self.config.down_after is not None:
                await asyncio.sleep(self.config.down_after)
                self.state.down = True
                await site.stop()
                logger.info("sandbox down for %.1fs", self.config.down_for)
                await asyncio.sleep(self.config.down_for)
                site = web.TCPSite(runner, host, port, reuse_address=True)
                await site.start()
                self.state.down = False
                logger.info("sandbox up again")
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
