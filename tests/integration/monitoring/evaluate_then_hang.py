"""A process that evaluates the alert rules once, says so, and hangs until it is killed:
a worker that dies between evaluating and sending (test_alert_crash.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.monitoring.alerts import service


async def main(database_url: str, home: str) -> None:
    runtime = Runtime.open(Settings(database_url=database_url, home=Path(home)))
    result = await service.evaluate(runtime)
    print(f"evaluated {len(result.notifications)}", flush=True)
    await asyncio.Event().wait()  # never sends: the test kills it here


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
