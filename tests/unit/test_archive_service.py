"""The archive service never takes the daemon down: a failing prune is logged and retried later."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.services.sinks import ArchiveService


class _FailingPruneArchive:
    """An archive whose prune fails as SQLite does on a full disk; flushes are counted."""

    def __init__(self) -> None:
        self.prunes = 0
        self.flushes = 0
        self.closed = False

    def take_events(self) -> list[object]:
        return []

    async def aprune(self) -> None:
        self.prunes += 1
        raise OSError(28, "No space left on device")

    async def aflush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True


async def test_a_failing_prune_does_not_stop_the_archive(caplog: pytest.LogCaptureFixture) -> None:
    archive = _FailingPruneArchive()
    service = ArchiveService(archive, core=None, flush_interval_s=0.01)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="gateway"):
        task = asyncio.create_task(service.run())
        await asyncio.sleep(0.2)
        assert not task.done(), "the archive service died on a prune error"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert archive.prunes == 1  # retried at the next daily prune, not in a tight loop
    assert archive.flushes >= 5  # hourly figures keep being flushed meanwhile
    assert archive.closed
    assert [r.getMessage() for r in caplog.records if "prune" in r.getMessage()] == [
        "archive prune failed ([Errno 28] No space left on device); retrying in 24 h"
    ]
