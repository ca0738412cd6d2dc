"""The InfluxDB sinks: drain the journal from the sink's own cursor to a v1 or v2 write API.

Rules of this module:
- the cursor moves only after the server said 2xx (or after a line was set aside as
  rejected): what the journal holds is delivered at least once, and because every point
  carries its measurement time a resend overwrites the same point instead of duplicating;
- oldest first, window by window; while catching up, up to ``concurrency`` requests of one
  fetched window are in flight at once, in lanes split by series so every series still
  reaches the server in time order; the batch size adapts (grows on fast 2xx, halves on
  413, timeouts and slow answers) between ``min_batch_size`` and ``max_batch_size``;
- read-ahead: while a full window is being delivered, the next one is fetched
  (``Journal.fetch(after=<last id in flight>)``, the cursor untouched) and gzipped; windows
  are still delivered one after the other and the cursor advanced after each, in order, so
  it never passes an undelivered row; a prefetched window is used only if it starts right
  after the window just advanced, and is thrown away on any failure (refetched from the cursor);
- one bad line never blocks the rest: a 400/422 batch is split in halves until the lines
  the server refuses are isolated; those are appended with the server's error to the
  rejected file and counted (``gateway_sink_rejected_total``);
- 429/503 wait for ``Retry-After`` (capped); 5xx, timeouts and resets back off exponentially
  with full jitter up to ``max_backoff_s``; 401/403/404 are configuration problems: logged
  and raised as an event once, then retried at the slow pace until fixed;
- memory is bounded by two fetched windows (the one in flight and at most one prefetched,
  each ``max(2, concurrency)`` × batch), whatever the backlog; network I/O and gzip run in
  the sink's own small thread pool (``concurrency`` + 1 threads), never on the event loop;
- logs and events: one line when the sink goes down, one when it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gateway.model import Event, Severity
from gateway.schema.sinks import InfluxV1SinkConfig, InfluxV2SinkConfig
from gateway.service import StopPhase
from gateway.sinks.influx_http import Answer, Transport, V1Transport, V2Transport, read_secret
from gateway.sinks.influx_windows import SinkJournal, _Batch, _chunks, _Health, _lanes, _line_time_ns, _Window

__all__ = ["InfluxSink", "SinkJournal", "build_influx_sinks"]

log = logging.getLogger("gateway.sinks.influx")

#: Bytes per line assumed when sizing a fetch window (a meter line is ~150-300 bytes).
_FETCH_BYTES_PER_LINE = 512
#: An answer slower than this fraction of the timeout shrinks the batch; faster than
#: ``_FAST`` grows it.
_SLOW, _FAST = 0.5, 0.1
#: The longest ``Retry-After`` honoured as asked.
_MAX_RETRY_AFTER_S = 3600.0
#: The rejected file rotates past this size (one previous file kept as ``.1``).
_REJECTED_MAX_BYTES = 16 * 1024 * 1024
#: The last chance to flush at shutdown.
_FINAL_FLUSH_S = 5.0


_METRICS = (  # name, kind, help
    ("gateway_sink_up", "gauge", "1 when the sink's last write succeeded"),
    ("gateway_sink_backlog_points", "gauge", "points journaled but not yet delivered"),
    ("gateway_sink_lag_seconds", "gauge", "age of the oldest undelivered point"),
    ("gateway_sink_last_success_timestamp_seconds", "gauge", "time of the last 2xx"),
    ("gateway_sink_points_total", "counter", "points delivered (2xx)"),
    ("gateway_sink_bytes_total", "counter", "request bytes sent (after gzip)"),
    ("gateway_sink_requests_total", "counter", "write requests by outcome"),
    ("gateway_sink_errors_total", "counter", "failed write requests by kind"),
    ("gateway_sink_rejected_total", "counter", "lines refused by the server and set aside"),
    ("gateway_sink_batch_size", "gauge", "current adaptive batch size"),
)


class InfluxSink:
    """One ``[sinks.<name>]`` of kind ``influx-v1`` or ``influx-v2``, as a daemon service.

    Example::

        sink = InfluxSink(name="remote", config=cfg.sinks["remote"], core=core, journal=journal)
        sink.prepare()
        await sink.run()       # until cancelled; flushes once more with a deadline
    """

    stop_phase = StopPhase.CONSUMER

    def __init__(
        self,
        *,
        name: str,
        config: InfluxV1SinkConfig | InfluxV2SinkConfig,
        core: Any,
        journal: SinkJournal,
        rejected_path: Path,
        transport: Transport | None = None,
    ) -> None:
        self.name = f"sink:{name}"
        self.sink = name
        self.config = config
        self._core = core
        self._metrics = core.metrics
        self._journal = journal
        self._rejected_path = rejected_path
        self._transport = transport
        self._batch = config.batch_size
        self._health = _Health()
        self._executor: ThreadPoolExecutor | None = None  # created by run(), one per life
        self._ahead: tuple[int, asyncio.Task[_Window | None]] | None = None  # (after, prefetch)
        self._advanced: int | None = None  # the id this life last advanced the cursor to
        self._rejected_logged_at = -1e9
        self._resume_at = 0.0  # time.monotonic() before which no request is sent
        self._internal_error = False
        self._random = random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self._describe()

    # ---- life cycle -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Read the secret files and build the transport (warns on loose permissions or verify_tls=false)."""
        if self._transport is not None:
            return
        if self.config.url.scheme == "https" and not self.config.verify_tls:
            log.warning(
                "SECURITY: sink %s does not verify the server's TLS certificate (verify_tls = false)",
                self.sink,
            )
        if self.config.url.scheme == "http" and self.config.url.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("sink %s sends data unencrypted over plain http to %s", self.sink, self.config.url.host)
        try:
            self._transport = self._make_transport()
        except OSError as exc:
            # The file may appear later (provisioning); run() keeps trying at the slow pace.
            self._report_problem("secret", f"cannot read the secret file: {exc}")

    def _make_transport(self) -> Transport:
        pool = self.config.concurrency
        if isinstance(self.config, InfluxV2SinkConfig):
            token = read_secret(self.config.token_file, "token") if self.config.token_file else None
            return V2Transport(self.config, token=token, pool_size=pool)
        password = read_secret(self.config.password_file, "password") if self.config.password_file else None
        return V1Transport(self.config, password=password, pool_size=pool)

    async def run(self) -> None:
        """Drain until cancelled; then one last flush with a deadline."""
        if self._executor is None:
            # one thread per lane, plus one so the read-ahead's gzip never waits behind the POSTs
            self._executor = ThreadPoolExecutor(
                max_workers=self.config.concurrency + 1, thread_name_prefix=f"sink-{self.sink}"
            )
        self._advanced = None
        if self._transport is None:
            self.prepare()
        try:
            while True:
                if self._transport is None:  # a secret file could not be read: try again slowly
                    await asyncio.sleep(self.config.max_backoff_s)
                    self.prepare()
                    continue
                try:
                    delivered_all = await self.drain_once()
                except Exception as exc:  # journal or library trouble: never take the daemon down
                    self._on_internal_error(exc)
                    await asyncio.sleep(min(self.config.max_backoff_s, 30.0))
                    continue
                if self._internal_error:
                    log.info("sink %s: draining works again", self.sink)
                    self._internal_error = False
                if delivered_all:
                    await asyncio.sleep(self.config.flush_interval_s)
        except asyncio.CancelledError:
            if self._transport is not None and not self._health.failures:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    async with asyncio.timeout(_FINAL_FLUSH_S):
                        await self.drain_once()
            raise
        finally:
            self._drop_ahead()
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    def _on_internal_error(self, exc: Exception) -> None:
        self._metrics.inc("gateway_sink_errors_total", sink=self.sink, kind="internal")
        if not self._internal_error:  # one line with the traceback, not one per retry
            self._internal_error = True
            log.error("sink %s: cannot drain (%s: %s); retrying", self.sink, type(exc).__name__, exc, exc_info=exc)

    # ---- draining ---------------------------------------------------------------------------

    async def drain_once(self) -> bool:
        """Deliver one window of the backlog; ``True`` when the sink has caught up.

        While the window is delivered, the next one is fetched and encoded (only when this one
        was full: a caught-up sink fetches fresh after its flush interval).
        """
        try:
            window = await self._next_window()
            if window is None:
                self._metrics.set("gateway_sink_lag_seconds", 0.0, sink=self.sink)
                self._metrics.set("gateway_sink_backlog_points", 0.0, sink=self.sink)
                return True
            if window.first_ts is not None:
                lag = max(0.0, (self._core.clock.time_ns() - window.first_ts) / 1e9)
                self._metrics.set("gateway_sink_lag_seconds", lag, sink=self.sink)
            if window.full:
                task = asyncio.create_task(self._prepare(after=window.last_id), name=f"{self.name}:read-ahead")
                self._ahead = (window.last_id, task)
            if self._health.failures or len(window.lanes) == 1:
                for lane in window.lanes:  # while the server struggles: one request at a time
                    await self._deliver_lane(lane)
            else:
                async with asyncio.TaskGroup() as group:
                    for lane in window.lanes:
                        group.create_task(self._deliver_lane(lane))
            await self._journal.advance(self.sink, window.last_id)
        except BaseException:
            self._drop_ahead()  # the next window would start after rows not delivered
            raise
        self._advanced = window.last_id
        self._update_backlog()
        return not window.full

    async def _next_window(self) -> _Window | None:
        """The prefetched window if it starts right after the last advance, else a fresh fetch."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            after, task = ahead
            if after == self._advanced:
                return await task
            self._discard(task)
        return await self._prepare(after=None)

    async def _prepare(self, *, after: int | None) -> _Window | None:
        """Fetch a window (after the cursor, or after ``after``), cut it into lanes and encode it."""
        size = self._batch * max(2, self.config.concurrency)  # amortises the fetch (~4 us/row)
        rows = await self._journal.fetch(
            self.sink, limit=size, max_bytes=size * _FETCH_BYTES_PER_LINE, after=after
        )
        if not rows:
            return None
        lines = [row.line for row in rows]
        groups = [lines] if len(lines) <= self._batch else _lanes(lines, self.config.concurrency)
        chunked = [_chunks(group, self._batch, self.config.max_batch_size) for group in groups]
        loop = asyncio.get_running_loop()
        lanes = await loop.run_in_executor(self._pool(), self._encode_lanes, chunked)
        return _Window(rows[-1].id, _line_time_ns(lines[0]), len(rows) >= size, lanes)

    def _encode_lanes(self, chunked: list[list[list[bytes]]]) -> list[list[_Batch]]:
        return [[_Batch(chunk, *self._encode_now(chunk)) for chunk in lane] for lane in chunked]

    def _drop_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            self._discard(ahead[1])

    @staticmethod
    def _discard(task: asyncio.Task[_Window | None]) -> None:
        task.cancel()  # its outcome is not wanted; retrieved so that nothing is logged about it
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _deliver_lane(self, batches: list[_Batch]) -> None:
        """Deliver a lane's batches one after the other (per-series order kept)."""
        for batch in batches:
            await self._deliver(batch.lines, (batch.body, batch.gzipped))

    async def _deliver(self, lines: list[bytes], encoded: tuple[bytes, bool] | None = None) -> None:
        """Deliver ``lines`` (oldest first) or set aside the ones the server refuses; never gives up."""
        while True:
            wait = self._resume_at - time.monotonic()
            if wait > 0:  # a backoff or Retry-After holds every request of this sink
                await asyncio.sleep(wait)
            if encoded is None:
                encoded = await self._encode(lines)
            body, gzipped = encoded
            answer = await self._post(body, gzipped=gzipped)
            self._metrics.inc("gateway_sink_bytes_total", len(body), sink=self.sink)
            self._metrics.inc("gateway_sink_requests_total", sink=self.sink, result=answer.kind)
            if answer.kind == "ok":
                self._on_success(len(lines), answer)
                return
            self._metrics.inc("gateway_sink_errors_total", sink=self.sink, kind=answer.kind)
            if answer.kind == "rejected":
                self._on_alive()
                if len(lines) == 1:
                    self._reject(lines[0], answer)
                    return
                await self._split(lines)
                return
            if answer.kind in ("too_large", "timeout") and len(lines) > self.config.min_batch_size:
                self._shrink(answer)
                await self._split(lines)
                return
            self._resume_at = max(self._resume_at, time.monotonic() + self._on_failure(answer))

    async def _split(self, lines: list[bytes]) -> None:
        middle = len(lines) // 2
        await self._deliver(lines[:middle])
        await self._deliver(lines[middle:])

    async def _encode(self, lines: list[bytes]) -> tuple[bytes, bool]:
        if not self.config.gzip:
            return b"\n".join(lines), False
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), self._encode_now, lines)

    def _encode_now(self, lines: list[bytes]) -> tuple[bytes, bool]:
        """The request body for ``lines`` (gzipped unless configured off); blocking: a pool thread."""
        body = b"\n".join(lines)
        if not self.config.gzip:
            return body, False
        return gzip.compress(body, compresslevel=5, mtime=0), True

    async def _post(self, body: bytes, *, gzipped: bool) -> Answer:
        assert self._transport is not None
        transport = self._transport
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), lambda: transport.post(body, gzipped=gzipped))

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise RuntimeError(f"sink {self.sink} is not running")
        return self._executor

    # ---- answers ----------------------------------------------------------------------------

    def _on_success(self, points: int, answer: Answer) -> None:
        self._metrics.inc("gateway_sink_points_total", points, sink=self.sink)
        self._metrics.set("gateway_sink_last_success_timestamp_seconds", time.time(), sink=self.sink)
        if answer.elapsed_s < self.config.timeout_s * _FAST and points >= self._batch:
            self._batch = min(self.config.max_batch_size, int(self._batch * 1.25) + 1)
        elif answer.elapsed_s > self.config.timeout_s * _SLOW:
            self._shrink(answer)
        self._metrics.set("gateway_sink_batch_size", self._batch, sink=self.sink)
        self._on_alive()

    def _on_alive(self) -> None:
        """The server answered sensibly: clear the failure state (log/event once if it was down)."""
        health = self._health
        if health.down:
            outage = time.monotonic() - (health.failing_since or time.monotonic())
            log.info("sink %s recovered after %.0f s", self.sink, outage)
            self._event("sink_recovered", "info", f"sink {self.sink} recovered after {outage:.0f} s")
        elif health.problem:
            log.info("sink %s: the server accepts our writes again", self.sink)
        self._health = _Health()
        self._metrics.set("gateway_sink_up", 1.0, sink=self.sink)

    def _shrink(self, answer: Answer) -> None:
        new = max(self.config.min_batch_size, self._batch // 2)
        if new != self._batch:
            log.info(
                "sink %s: batch %d -> %d (%s %.1f s)",
                self.sink,
                self._batch,
                new,
                answer.kind,
                answer.elapsed_s,
            )
        self._batch = new
        self._metrics.set("gateway_sink_batch_size", self._batch, sink=self.sink)

    def _on_failure(self, answer: Answer) -> float:
        """Record a failed attempt; return how long to wait before the next one."""
        health = self._health
        health.failures += 1
        health.last_kind, health.last_message = answer.kind, answer.message
        now = time.monotonic()
        if health.failing_since is None:
            health.failing_since = now
        if answer.kind in ("auth", "not_found", "tls", "client"):
            self._report_problem(
                answer.kind, f"HTTP {answer.status}: {answer.message}" if answer.status else answer.message
            )
        if not health.down and now - health.failing_since >= self.config.down_after_s:
            health.down = True
            self._metrics.set("gateway_sink_up", 0.0, sink=self.sink)
            log.warning(
                "sink %s is down (%s: %s); the journal keeps everything",
                self.sink,
                answer.kind,
                answer.message,
            )
            self._event("sink_down", "warning", f"sink {self.sink} is down: {answer.kind} {answer.message}"[:300])
        cfg = self.config
        if answer.kind in ("auth", "not_found", "tls", "client"):
            return cfg.max_backoff_s  # a person must fix something: retry slowly
        if answer.kind == "throttled" and answer.retry_after_s is not None:
            # The server knows best how long it needs: honoured as asked (up to an hour), even
            # beyond max_backoff_s.
            return min(_MAX_RETRY_AFTER_S, max(answer.retry_after_s, 0.01))
        ceiling = min(cfg.max_backoff_s, cfg.min_backoff_s * 2 ** min(health.failures - 1, 20))
        return cfg.min_backoff_s * 0.5 + self._random.uniform(0, ceiling)  # jittered, never a thundering herd

    def _report_problem(self, kind: str, message: str) -> None:
        if kind in self._health.reported:
            return
        self._health.reported.add(kind)
        self._health.problem = kind
        what = {
            "auth": "the server refuses our credentials",
            "not_found": "the database/bucket or the write endpoint does not exist",
            "tls": "the server's TLS certificate is not trusted",
            "secret": "the token/password file cannot be read",
        }.get(kind, "the server refuses our requests")
        log.error("sink %s: %s (%s); retrying every %g s", self.sink, what, message, self.config.max_backoff_s)
        self._event(f"sink_{kind}", "alarm", f"sink {self.sink}: {what}: {message}"[:300])

    def _reject(self, line: bytes, answer: Answer) -> None:
        """Set one refused line aside with the server's error; count it; move on."""
        self._metrics.inc("gateway_sink_rejected_total", sink=self.sink)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        error = answer.message.replace("\n", " ")
        try:
            self._rejected_path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if self._rejected_path.stat().st_size > _REJECTED_MAX_BYTES:  # bounded: the SD card
                    self._rejected_path.replace(self._rejected_path.with_name(self._rejected_path.name + ".1"))
            with self._rejected_path.open("ab") as out:
                out.write(f"# {stamp} HTTP {answer.status}: {error}\n".encode() + line + b"\n")
        except OSError as exc:
            log.error("sink %s: cannot store a rejected line in %s: %s", self.sink, self._rejected_path, exc)
        now = time.monotonic()
        if now - self._rejected_logged_at > 60.0:  # one line a minute at most, with the running count
            self._rejected_logged_at = now
            total = int(self._metrics.get("gateway_sink_rejected_total", sink=self.sink))
            log.warning(
                "sink %s: %d line(s) refused so far; latest: %s; set aside in %s",
                self.sink,
                total,
                error,
                self._rejected_path,
            )

    def _event(self, kind: str, severity: Severity, message: str) -> None:
        with contextlib.suppress(Exception):  # an event must never take the sink down
            self._core.raise_event(
                Event(
                    kind=kind,
                    subject=self.sink,
                    message=message,
                    time_ns=self._core.clock.time_ns(),
                    severity=severity,
                )
            )

    # ---- metrics ----------------------------------------------------------------------------

    def _describe(self) -> None:
        m = self._metrics
        for name, kind, text in _METRICS:
            m.describe(name, kind, text)
        m.set("gateway_sink_up", 1.0, sink=self.sink)
        m.set("gateway_sink_batch_size", self._batch, sink=self.sink)
        m.inc("gateway_sink_rejected_total", 0, sink=self.sink)

    def _update_backlog(self) -> None:
        stats = getattr(self._journal, "stats", None)
        if stats is None:
            return
        with contextlib.suppress(Exception):
            per_sink = stats().sinks[self.sink]
            self._metrics.set("gateway_sink_backlog_points", float(per_sink.backlog), sink=self.sink)


def build_influx_sinks(config: Any, core: Any, journal: Any) -> list[InfluxSink]:
    """One service per enabled ``influx-v1`` / ``influx-v2`` sink of the configuration."""
    sinks = []
    for name, sink in config.sinks.items():
        if isinstance(sink, InfluxV1SinkConfig | InfluxV2SinkConfig) and sink.enabled:
            rejected = sink.rejected_file or config.service.state_dir / f"rejected-{name}.lp"
            sinks.append(InfluxSink(name=name, config=sink, core=core, journal=journal, rejected_path=rejected))
    return sinks
