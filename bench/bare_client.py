"""One process of bench/send_throughput.py's ceiling: a bare aiohttp client in a worker process's shape.

    python bench/bare_client.py URL TOKEN COUNT FIRST_ID CONCURRENCY CONNECT_TIMEOUT READ_TIMEOUT

It opens the provider session a worker process opens (`mailings.gateway.open_session`: the same
connector, pool limit and headers), prints "ready", waits for a line on its standard input, then
posts COUNT requests, msgIds from FIRST_ID, CONCURRENCY in flight, each with the body and timeout
a worker's request carries, reads each answer, and prints "done <CPU seconds it spent on them>".
What it leaves out is the engine's own work: claiming, checking, deciding, recording, logging.
"""

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailings.gateway import GatewayConfig, open_session, timeout_for

TEXT = "bench latency 0"  # a text as long as the bench mailings'


async def post_all(config: GatewayConfig, count: int, first_id: int) -> float:
    session = open_session(config)
    timeout = timeout_for(config)
    ids = iter(range(first_id, first_id + count))

    async def lane() -> None:
        for message_id in ids:
            body = {"id": message_id, "phone": 79000000000 + message_id % 10**9, "text": TEXT}
            async with session.post(f"{config.url}/send/{message_id}", json=body, timeout=timeout) as response:
                await response.read()
                if response.status != 200:
                    sys.exit(f"the sandbox answered {response.status}: {await response.text()}")

    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # the go
    before = os.times()
    await asyncio.gather(*(lane() for _ in range(config.concurrency)))
    after = os.times()
    await session.close()
    return (after.user - before.user) + (after.system - before.system)


def main() -> None:
    url, token, count, first_id, concurrency, connect, read = sys.argv[1:8]
    config = GatewayConfig(url, token, float(connect), float(read), int(concurrency))
    cpu = asyncio.run(post_all(config, int(count), int(first_id)))
    print(f"done {cpu:.3f}", flush=True)


if __name__ == "__main__":
    main()
