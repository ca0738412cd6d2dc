"""The clock of a Pi without RTC: unsynced at boot, synced later, stepped back and forth.

Time is simulated with ``ManualClock`` (wall and monotonic, with a settable sync status); the
kernel source is exercised for real once (whatever this machine's clock state is, the answer
must be a well-formed status consistent with adjtimex's STA_UNSYNC flag).
"""

from __future__ import annotations

import ctypes
import errno
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.clock import STA_UNSYNC, KernelSync, LastSeen, ManualClock, SystemClock, _Timex, sync_status_of
from gateway.clock_guard import UNSYNCED_FIELD, ClockGuard, StampingRecorder, guard_for
from gateway.metrics import Metrics
from gateway.model import Event, ModelError, Reading
from gateway.schema.service import ClockPolicy

NOV = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
NS = 1_000_000_000


def reading_at(clock: ManualClock) -> Reading:
    return Reading.make("climate", {"site": "v", "device": "t1"}, {"temperature_c": 19.5}, time_ns=clock.time_ns())


class Village:
    """A guard over a manual clock, with its events and metrics recorded."""

    def __init__(self, state_dir: Path, clock: ManualClock, **policy: object) -> None:
        self.clock = clock
        self.events: list[Event] = []
        self.metrics = Metrics()
        self.store = LastSeen(state_dir)
        self.guard = ClockGuard(
            policy=ClockPolicy(**policy),  # type: ignore[arg-type]
            clock=clock,
            last_seen=self.store,
            metrics=self.metrics,
            on_event=self.events.append,
        )

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def test_unsynced_at_boot_then_synced_later(tmp_path: Path) -> None:
    # Given a Pi booting at fake-hwclock's saved time, NTP not answered yet
    v = Village(tmp_path, ManualClock(NOV, synchronised=False))
    status = v.guard.check()
    # Then the clock is not trusted, readings are flagged, the safe modes are announced
    assert not status.trusted
    assert status.state == "unsynchronised"
    assert "not synchronised" in status.reason
    assert (status.safe_heating, status.safe_lighting) == ("eco", "sensor")
    flagged = v.guard.stamp(reading_at(v.clock))
    assert flagged.field_map() == {"temperature_c": 19.5, UNSYNCED_FIELD: True}
    assert v.kinds() == ["clock_untrusted"]
    assert v.metrics.get("gateway_clock_trusted") == 0.0
    # Checking again while nothing changed says nothing more (one line per state change)
    v.clock.advance(10)
    v.guard.check()
    assert v.kinds() == ["clock_untrusted"]
    assert v.store.load() is None  # an untrusted time is never persisted
    # When NTP synchronises (and steps the clock forward by a week)
    v.clock.set_synchronised(True)
    v.clock.jump(7 * 86400)
    status = v.guard.check()
    # Then the clock is trusted, readings pass unchanged, the time is persisted
    assert status.trusted
    assert status.state == "trusted"
    assert status.reason == ""
    assert v.kinds() == ["clock_untrusted", "clock_step", "clock_trusted"]
    assert v.events[1].data == (("step_s", pytest.approx(7 * 86400)),)
    plain = reading_at(v.clock)
    assert v.guard.stamp(plain) is plain
    assert v.store.load() == v.clock.time_ns()
    assert v.metrics.get("gateway_clock_trusted") == 1.0
    assert v.metrics.get("gateway_clock_steps_total", direction="forward") == 1.0


def test_reboot_with_clock_behind_last_seen_is_untrusted_until_it_catches_up(tmp_path: Path) -> None:
    # Given a gateway that last saw 2026-11-20 06:00 (persisted)
    LastSeen(tmp_path).save(int(NOV.timestamp()) * NS)
    # When it reboots with a clock claiming "synchronised" but an hour earlier
    v = Village(tmp_path, ManualClock(NOV - timedelta(hours=1)), accept_behind_after_s=7200)
    status = v.guard.check()
    # Then it is not trusted: the clock is before the last time seen
    assert not status.trusted
    assert status.state == "behind-last-seen"
    assert "3600 s earlier than the last time" in status.reason
    assert v.guard.stamp(reading_at(v.clock)).field_map()[UNSYNCED_FIELD] is True
    # And it becomes trusted once real time passes the last time seen
    v.clock.advance(3600 + 1)
    assert v.guard.check().trusted
    assert v.kinds() == ["clock_untrusted", "clock_trusted"]


def test_synchronised_clock_stuck_behind_a_bad_saved_time_is_accepted_after_the_grace(tmp_path: Path) -> None:
    # A past bad NTP answer saved a time one year ahead: NTP must eventually win.
    LastSeen(tmp_path).save(int((NOV + timedelta(days=365)).timestamp()) * NS)
    v = Village(tmp_path, ManualClock(NOV), accept_behind_after_s=3600)
    assert not v.guard.check().trusted
    v.clock.advance(1800)
    assert not v.guard.check().trusted
    v.clock.advance(1800)
    status = v.guard.check()
    assert status.trusted
    assert v.store.load() == v.clock.time_ns()  # the bad saved time is replaced


def test_backward_jump_while_running(tmp_path: Path) -> None:
    # Given a trusted clock that has been running
    v = Village(tmp_path, ManualClock(NOV))
    assert v.guard.check().trusted
    v.clock.advance(600)
    v.guard.check()
    before = reading_at(v.clock)
    # When someone steps it back by two hours (a wrong manual `date -s`, a bad NTP server)
    v.clock.jump(-7200)
    # Then a reading measured before the guard's next check is already flagged (earlier than seen)
    assert v.guard.stamp(reading_at(v.clock)).field_map()[UNSYNCED_FIELD] is True
    status = v.guard.check()
    # And the step is reported, the clock is untrusted, the saved time is not moved back
    assert not status.trusted
    assert status.state == "behind-last-seen"
    assert status.last_step_s == pytest.approx(-7200)
    assert v.kinds() == ["clock_step", "clock_untrusted"]
    assert v.store.load() is not None
    assert v.store.load() >= before.time_ns
    assert v.metrics.get("gateway_clock_steps_total", direction="backward") == 1.0


def test_step_listeners_get_the_signed_step(tmp_path: Path) -> None:
    # Given a relay switched on at a wall time, as control stamps it
    v = Village(tmp_path, ManualClock(NOV))
    relay_on_since = [v.clock.time_ns()]
    v.guard.add_step_listener(lambda step_s: relay_on_since.__setitem__(0, relay_on_since[0] + int(step_s * NS)))
    v.guard.add_step_listener(lambda step_s: 1 / 0)  # a broken listener is logged, not fatal
    v.guard.check()
    v.clock.advance(300)
    # When the clock steps back an hour
    v.clock.jump(-3600)
    v.guard.check()
    # Then the relay has still been on for 300 s by the new clock, not -3300 s
    assert (v.clock.time_ns() - relay_on_since[0]) / NS == pytest.approx(300)
    v.clock.jump(+7200)
    v.guard.check()
    assert (v.clock.time_ns() - relay_on_since[0]) / NS == pytest.approx(300)


def test_forward_jump_while_trusted_stays_trusted_and_is_reported(tmp_path: Path) -> None:
    v = Village(tmp_path, ManualClock(NOV))
    v.guard.check()
    v.clock.jump(3 * 3600)
    status = v.guard.check()
    assert status.trusted
    assert status.last_step_s == pytest.approx(3 * 3600)
    assert v.kinds() == ["clock_step"]
    # small drift corrections under the threshold are not steps
    v.clock.jump(1.5)
    v.guard.check()
    assert v.kinds() == ["clock_step"]


def test_clock_at_1970_is_untrusted_and_never_yields_a_1970_point(tmp_path: Path) -> None:
    v = Village(tmp_path, ManualClock(datetime(1970, 1, 1, 0, 0, 42, tzinfo=UTC), synchronised=False))
    status = v.guard.check()
    assert not status.trusted
    assert status.state == "before-2001"
    with pytest.raises(ModelError, match="implausible timestamp"):
        reading_at(v.clock)


def test_require_sync_false_trusts_an_rtc_clock(tmp_path: Path) -> None:
    v = Village(tmp_path, ManualClock(NOV, synchronised=False), require_sync=False)
    assert v.guard.check().trusted


def test_last_seen_is_persisted_at_most_every_persist_interval_and_at_stop(tmp_path: Path) -> None:
    v = Village(tmp_path, ManualClock(NOV), persist_interval_s=600)
    v.guard.check()
    first = v.store.load()
    v.clock.advance(60)
    v.guard.check()
    assert v.store.load() == first  # not rewritten every check (SD card)
    v.guard.persist()
    assert v.store.load() == first + 60 * NS
    v.clock.advance(600)
    v.guard.check()
    assert v.store.load() == first + 660 * NS


def test_last_seen_file_garbage_is_ignored(tmp_path: Path) -> None:
    (tmp_path / LastSeen.FILE_NAME).write_text("not a number\n")
    assert LastSeen(tmp_path).load() is None
    v = Village(tmp_path, ManualClock(NOV))
    assert v.guard.check().trusted


def test_persist_failure_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    guard = ClockGuard(policy=ClockPolicy(), clock=ManualClock(NOV), last_seen=LastSeen(blocker / "sub"))
    assert guard.check().trusted
    assert "cannot save the last trusted time" in caplog.text


def test_stamping_recorder_wraps_the_journal_once(tmp_path: Path) -> None:
    class Journal:
        def __init__(self) -> None:
            self.rows: list[Reading] = []

        def append(self, reading: Reading) -> None:
            self.rows.append(reading)

        def stats(self) -> str:
            return "stats"

    class Core:
        def __init__(self) -> None:
            self.clock = ManualClock(NOV, synchronised=False)
            self.metrics = Metrics()
            self.journal = Journal()
            self.events: list[Event] = []

        def raise_event(self, event: Event) -> None:
            self.events.append(event)

    from gateway.config import parse_config

    config = parse_config(
        f'[site]\nid="v"\nname="V"\nlatitude=47\nlongitude=1\n[service]\nstate_dir="{tmp_path}"\n'
    )
    core = Core()
    inner = core.journal
    guard = guard_for(config, core)
    guard_for(config, core)  # a second guard does not wrap the journal twice
    assert isinstance(core.journal, StampingRecorder)
    guard.check()
    core.journal.append(reading_at(core.clock))
    assert inner.rows[0].field_map()[UNSYNCED_FIELD] is True
    assert core.journal.stats() == "stats"  # everything else is the journal's
    assert [e.kind for e in core.events] == ["clock_untrusted"]


def test_kernel_sync_reads_adjtimex_like_timedatectl() -> None:
    status = KernelSync().sync_status()
    assert status.detail.startswith("kernel:")  # adjtimex answered (read-only, no privilege)
    libc = ctypes.CDLL(None, use_errno=True)
    tx = _Timex()
    assert libc.adjtimex(ctypes.byref(tx)) >= 0
    expected = not (tx.status & STA_UNSYNC) and tx.maxerror < 16_000_000
    assert status.synchronised == expected
    assert sync_status_of(SystemClock()).synchronised == expected


def refused(*_args: object) -> int:
    """adjtimex as seccomp answers it under ProtectClock=yes."""
    ctypes.set_errno(errno.EPERM)
    return -1


def test_refused_adjtimex_falls_back_to_the_timesyncd_flag(tmp_path: Path) -> None:
    source = KernelSync(timesync_flag=tmp_path / "synchronized", busctl=None)
    source._adjtimex = refused  # type: ignore[assignment]
    status = source.sync_status()
    assert not status.synchronised
    assert status.detail == "adjtimex refused (Operation not permitted); no systemd-timesyncd flag, timedated not reachable"
    (tmp_path / "synchronized").touch()
    status = source.sync_status()
    assert status.synchronised
    assert status.detail == "adjtimex refused (Operation not permitted); systemd-timesyncd reports synchronised"


def test_refused_adjtimex_asks_timedated_over_dbus(tmp_path: Path) -> None:
    # busctl is systemd's own D-Bus client; no systemd runs here, so stand in for timedated's answer
    busctl = tmp_path / "busctl"
    answer = tmp_path / "answer"
    answer.write_text("b false\n")
    calls = tmp_path / "calls"
    busctl.write_text(f'#!/bin/sh\necho "$@" >> {calls}\ncat {answer}\n')
    busctl.chmod(0o755)
    source = KernelSync(timesync_flag=tmp_path / "absent", busctl=str(busctl))
    source._adjtimex = refused  # type: ignore[assignment]
    assert not source.sync_status().synchronised
    answer.write_text("b true\n")
    assert not source.sync_status().synchronised  # asked at most once a minute
    source._timedated = (source._timedated[0] - 61, None) if source._timedated else None
    status = source.sync_status()
    assert status.synchronised
    assert status.detail.endswith("timedated: NTPSynchronized=true")
    assert calls.read_text().splitlines() == [
        "get-property org.freedesktop.timedate1 /org/freedesktop/timedate1 org.freedesktop.timedate1 NTPSynchronized"
    ] * 2


def test_clock_without_sync_status_counts_as_synchronised() -> None:
    class SimClock:
        pass

    assert sync_status_of(SimClock()).synchronised


def test_the_log_says_why_an_unsynchronised_clock_is_trusted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # "clock trusted (kernel: STA_UNSYNC set)" read as a contradiction: the reason must be given
    with caplog.at_level(logging.INFO, logger="gateway.clock"):
        Village(tmp_path / "a", ManualClock(NOV, synchronised=False), require_sync=False).guard.check()
        Village(tmp_path / "b", ManualClock(NOV, synchronised=True)).guard.check()
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("clock trusted")] == [
        "clock trusted ([service.clock] require_sync = false, so trusted although not synchronised: manual clock)",
        "clock trusted (synchronised: manual clock)",
    ]
