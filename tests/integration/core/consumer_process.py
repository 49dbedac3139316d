"""A worker process running one durable consumer, for tests that kill it mid-batch.

Each handled event appends ``<pid> <n>`` to the file named by ``HANDLED_FILE`` (``n``
from the payload) and takes a little time, so a test can kill the process between two
events of a batch.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from orchestrate.app.worker import install_stop_signals
from orchestrate.core.events import Consumer, Event, run_consumers
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import load_settings


async def main() -> None:
    handled = Path(os.environ["HANDLED_FILE"])
    runtime = Runtime.open(load_settings())

    async def handle(event: Event) -> None:
        with handled.open("a") as file:
            file.write(f"{os.getpid()} {event.payload['n']}\n")
            file.flush()
            os.fsync(file.fileno())
        await asyncio.sleep(0.05)

    consumer = Consumer(
        "killable", handle, types=("test.tick",), batch_size=5, lease=timedelta(seconds=1)
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        await run_consumers(runtime, [consumer], f"worker-{os.getpid()}", stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
