"""What a worker process keeps from one batch to the next, and drops when it is forked.

- its event loop and one session per enabled provider: reusing them keeps each provider's
  connections alive between batches instead of opening hundreds of new ones for each;
- one thread for the database work done while the event loop runs;
- its handles on the providers' shared circuits, each of which remembers this process's run of
  failures and whether it holds the probe;
- its handle on the providers' shared rate limits (its Redis connection).

All of it belongs to the process that made it. A new worker process forgets what it
inherited (`forget_inherited`, on Celery's `worker_process_init`, connected in
`mailings.apps`); the loop and the database thread also check the pid they were made
in, for a process forked some other way.
"""

import asyncio
import atexit
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

from mailings.gateway import Gateway, GatewayConfig
from mailings.sending.circuit import Circuits
from mailings.sending.config import SendingConfig
from mailings.sending.limiter import Limiter


def gateway_configs(config: SendingConfig) -> dict[str, GatewayConfig]:
    """Each enabled provider's client settings, by name."""
    found = {name: config.gateway_for(name) for name in sorted(config.enabled)}
    return {name: gateway for name, gateway in found.items() if gateway is not None}


class ProcessRuntime:
    """This worker process's event loop and provider sessions (one per provider), kept across batches."""

    def __init__(self, configs: dict[str, GatewayConfig]):
        self.pid = os.getpid()
        self.configs = configs
        self.loop = asyncio.new_event_loop()
        self.gateways = {name: Gateway(config) for name, config in configs.items()}
        for gateway in self.gateways.values():
            self.loop.run_until_complete(gateway.__aenter__())

    def close(self) -> None:
        try:
            for gateway in self.gateways.values():
                with contextlib.suppress(Exception):
                    self.loop.run_until_complete(gateway.__aexit__(None, None, None))
        finally:
            self.loop.close()


_runtime: ProcessRuntime | None = None


def runtime_for(config: SendingConfig) -> ProcessRuntime:
    global _runtime
    configs = gateway_configs(config)
    if _runtime is not None and (_runtime.pid != os.getpid() or _runtime.configs != configs):
        discard_runtime()
    if _runtime is None:
        _runtime = ProcessRuntime(configs)
        atexit.register(discard_runtime)
    return _runtime


def discard_runtime() -> None:
    global _runtime
    runtime, _runtime = _runtime, None
    if runtime is not None and runtime.pid == os.getpid():
        with contextlib.suppress(Exception):
            runtime.close()


_executor: tuple[int, ThreadPoolExecutor] | None = None


def db_thread() -> ThreadPoolExecutor:
    """One thread per worker process for the database reads made while the event loop runs."""
    global _executor
    if _executor is None or _executor[0] != os.getpid():  # a forked child gets its own
        _executor = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-db"))
    return _executor[1]


_circuits: Circuits | None = None


def process_circuits(config: SendingConfig) -> Circuits:
    """One set of circuit handles per worker process: each remembers this process's run of failures."""
    global _circuits
    if _circuits is None:
        _circuits = Circuits(config.circuit)
    return _circuits


_limiter: Limiter | None = None


def process_limiter() -> Limiter:
    """One handle per worker process on the providers' shared rate limits."""
    global _limiter
    if _limiter is None:
        _limiter = Limiter()
    return _limiter


def forget_inherited(**_signal_kwargs) -> None:
    """In a freshly forked worker process: drop the parent's loop, thread, circuit and limiter handles.

    Nothing is closed: the loop's selector and sockets are shared with the parent, and
    closing them here would pull them from under it.
    """
    global _runtime, _executor, _circuits, _limiter
    _runtime, _executor, _circuits, _limiter = None, None, None, None
