"""The real daemon plus the synthetic source: ``python -m tests.support.powercut_daemon``.

Exactly what ``village-gateway run --config FILE`` does (load the configuration, build the
:class:`~gateway.daemon.Daemon` with every subsystem, run it until a signal), with one more
producer service and the journal's batch listener recording acknowledged points.

Usage: ``python -m tests.support.powercut_daemon CONFIG STATE_DIR RUN RATE``
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from gateway.config import load_config
    from gateway.daemon import Daemon, RunOptions
    from gateway.logs import setup_logging
    from tests.support.synthetic_source import AckLog, SyntheticSource

    config_path, state, run, rate = Path(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    config = load_config(config_path)
    setup_logging(config.service.log_level)
    daemon = Daemon(config, RunOptions(config_path=config_path))
    core = daemon.build()
    # (the clock guard may wrap the journal; the wrapper delegates everything but append)
    core.journal.add_batch_listener(AckLog(state / "acked.log", run))  # type: ignore[attr-defined]
    if rate > 0:
        daemon.add_service(
            SyntheticSource(core, run=run, rate=rate, generated_path=state / "generated.log")
        )
    ready = state / "ready"

    async def run_and_tell() -> None:
        task = asyncio.create_task(daemon.run())
        await daemon.started.wait()
        ready.write_text(str(run))  # the harness knows this life is up (for its clock, not a guarantee)
        await task

    asyncio.run(run_and_tell())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
