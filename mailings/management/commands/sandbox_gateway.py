"""`python manage.py sandbox_gateway --port 8025`: the stand-in SMS provider (see mailings.sandbox).

`--port 0` binds a free port; `--fd N` serves a socket its parent bound and handed down. Either way the
first line it prints, `Sandbox provider listening on http://HOST:PORT`, says it listens and where.
`POST /replies` delivers a person's reply to `--inbound-url`; `--stop-rate` answers some messages STOP.
`--reports-url` posts a delivery report back for each accepted message (mailings/sandbox_reports.py).
"""

import asyncio
import contextlib
import socket

from django.conf import settings
from django.core.management.base import BaseCommand

from mailings.sandbox import Sandbox, SandboxConfig
from mailings.sandbox_reports import add_report_arguments, report_config


def _rate(value: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise ValueError("a rate is between 0 and 1")
    return rate


class Command(BaseCommand):
    help = "Run the sandbox SMS provider with knobs for latency, errors, timeouts, garbage and outages."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025, help="0: any free port (printed when listening)")
        parser.add_argument("--fd", type=int, default=None, help="serve this inherited, bound socket instead")
        parser.add_argument("--token", default=None, help="Bearer token to accept (default: SENDING_API_TOKEN).")
        parser.add_argument("--latency-ms", type=float, default=0.0)
        parser.add_argument("--error-rate", type=_rate, default=0.0, help="share of 5xx/429 answers")
        parser.add_argument("--timeout-rate", type=_rate, default=0.0, help="share of requests that hang")
        parser.add_argument("--garbage-rate", type=_rate, default=0.0, help="share of 200s with a bad body")
        parser.add_argument("--down-after", type=float, default=None, help="seconds until the outage")
        parser.add_argument("--down-for", type=float, default=0.0, help="seconds the outage lasts")
        parser.add_argument("--hang-seconds", type=float, default=30.0, help="how long a hanging request hangs")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--refuse-first-every",
            type=int,
            default=0,
            help="answer 400 (permanent) the first request of each msgId that is a multiple of this",
        )
        parser.add_argument(
            "--inbound-url",
            default=None,
            help="where POST /replies delivers replies (default: SANDBOX_INBOUND_URL)",
        )
        parser.add_argument(
            "--inbound-secret", default=None, help="the Bearer secret of replies (default: INBOUND_SECRET)"
        )
        parser.add_argument("--stop-rate", type=_rate, default=0.0, help="share of accepted messages answered STOP")
        add_report_arguments(parser)

    def handle(self, *args, **options):
        config = SandboxConfig(
            token=options["token"] or settings.SENDING_API_TOKEN,
            latency_ms=options["latency_ms"],
            error_rate=options["error_rate"],
            timeout_rate=options["timeout_rate"],
            garbage_rate=options["garbage_rate"],
            down_after=options["down_after"],
            down_for=options["down_for"],
            hang_seconds=options["hang_seconds"],
            seed=options["seed"],
            refuse_first_every=options["refuse_first_every"],
            inbound_url=options["inbound_url"] if options["inbound_url"] is not None else settings.SANDBOX_INBOUND_URL,
            inbound_secret=options["inbound_secret"]
            if options["inbound_secret"] is not None
            else settings.INBOUND_SECRET,
            stop_rate=options["stop_rate"],
            reports=report_config(options, secret=settings.DELIVERY_REPORT_SECRET, seed=options["seed"]),
        )
        host, port = options["host"], options["port"]
        sock = socket.socket(fileno=options["fd"]) if options["fd"] is not None else None
        if sock:
            host = sock.getsockname()[0]

        def ready(bound_port: int):
            self.stdout.write(f"Sandbox provider listening on http://{host}:{bound_port}", ending="\n")
            self.stdout.flush()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(Sandbox(config).serve(host, port, ready=ready, sock=sock))
