"""The InfluxDB sink's pure decisions: how an answer is classified, Retry-After, lanes, config checks."""

from __future__ import annotations

import email.utils
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError
from gateway.schema.sinks import InfluxV2SinkConfig
from gateway.sinks.influx import _chunks, _lanes, _line_time_ns
from gateway.sinks.influx_http import classify, parse_retry_after, read_secret


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (204, "ok"), (200, "ok"), (400, "rejected"), (422, "rejected"), (413, "too_large"), (401, "auth"),
        (403, "auth"), (404, "not_found"), (429, "throttled"), (503, "throttled"), (500, "server"),
        (502, "server"), (504, "server"), (405, "client"),
    ],
)  # fmt: skip
def test_each_status_maps_to_what_the_sink_must_do(status: int, kind: str) -> None:
    assert classify(status, "msg", None, 0.1).kind == kind


def test_error_messages_fit_one_log_line() -> None:
    answer = classify(400, '{"error":"unable to parse\n line"}' + "x" * 1000, None, 0.0)
    assert "\n" not in answer.message
    assert len(answer.message) == 500


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30)
    assert parse_retry_after(email.utils.formatdate(999_000, usegmt=True), now=1_000_000) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert classify(429, "", "3", 0.0).retry_after_s == 3.0


def test_lanes_keep_each_series_in_one_lane_in_order() -> None:
    lines = [f"meter,device=d{i % 7},site=s power_w={i} {1000 + i}".encode() for i in range(200)]
    lines.append(b"meter,device=with\\ space,site=s power_w=1 5000")
    lines.append(b"meter,device=with\\ space,site=s power_w=2 5001")
    lanes = _lanes(lines, 3)
    assert sorted(line for lane in lanes for line in lane) == sorted(lines)
    seen: dict[bytes, int] = {}
    for n, lane in enumerate(lanes):
        last: dict[bytes, int] = {}
        for line in lane:
            key = line.split(b" ", 1)[0]
            assert seen.setdefault(key, n) == n  # one lane per series
            ts = int(line.rsplit(b" ", 1)[1])
            assert ts > last.get(key, 0)  # in time order
            last[key] = ts


def test_a_lane_is_cut_into_requests_of_about_the_batch_size_in_order() -> None:
    lines = [str(i).encode() for i in range(12_000)]
    assert [len(c) for c in _chunks(lines[:5200], 5000, 20_000)] == [5200]  # not 5,000 + 200
    assert [len(c) for c in _chunks(lines, 5000, 20_000)] == [6000, 6000]
    assert [len(c) for c in _chunks(lines, 5000, 5000)] == [4000, 4000, 4000]  # never above max_batch_size
    assert [len(c) for c in _chunks(lines[:7], 5000, 20_000)] == [7]
    assert [line for c in _chunks(lines, 3000, 3000) for line in c] == lines


def test_the_timestamp_is_read_from_the_end_of_a_line() -> None:
    assert _line_time_ns(b'event,site=s message="a b c" 1767571200000000000') == 1_767_571_200_000_000_000
    assert _line_time_ns(b"garbage") is None


def test_a_loose_secret_file_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "token"
    secret.write_text("abc\n")
    secret.chmod(0o600)
    assert read_secret(secret, "token") == "abc"
    assert not caplog.records
    secret.chmod(0o640)
    assert read_secret(secret, "token") == "abc"
    assert "chmod 600" in caplog.records[0].message


SITE = '[site]\nid = "s"\nname = "S"\nlatitude = 47\nlongitude = 1\n'


def _problems(sink: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(SITE + sink, file="t.toml")
    return [f"{p.path}: {p.reason}" for p in info.value.problems]


def test_inconsistent_sink_settings_are_refused_with_their_path() -> None:
    problems = _problems(
        '[sinks.remote]\nkind = "influx-v1"\nurl = "http://h:8086"\ndatabase = "v"\nca_file = "/ca.pem"\n'
        'verify_tls = false\npassword_file = "/p"\nmin_batch_size = 600\nbatch_size = 500\nmax_batch_size = 400\n'
    )
    assert sorted(problems) == sorted(
        [
            "sinks.remote.ca_file: a CA file only makes sense with an https:// url",
            "sinks.remote.verify_tls: verify_tls only applies to an https:// url",
            "sinks.remote.min_batch_size: must not be larger than max_batch_size",
            "sinks.remote.batch_size: must lie between min_batch_size and max_batch_size",
            "sinks.remote.password_file: a password needs a username",
        ]
    )


def test_a_v2_sink_needs_org_and_bucket() -> None:
    problems = _problems('[sinks.remote]\nkind = "influx-v2"\nurl = "https://h"\n')
    assert sorted(problems) == ["sinks.remote.bucket: required but missing", "sinks.remote.org: required but missing"]


def test_a_valid_remote_sink_resolves_relative_secret_paths(tmp_path: Path) -> None:
    config = parse_config(
        SITE + '[sinks.remote]\nkind = "influx-v2"\nurl = "https://h"\norg = "o"\nbucket = "b"\n'
        'token_file = "tok"\nca_file = "ca.pem"\n',
        file="t.toml",
        base_dir=tmp_path,
    )
    sink = config.sinks["remote"]
    assert isinstance(sink, InfluxV2SinkConfig)
    assert sink.token_file == tmp_path / "tok"
    assert sink.ca_file == tmp_path / "ca.pem"
    assert sink.verify_tls


def test_the_rejected_file_is_bounded(tmp_path: Path) -> None:
    from gateway.sinks.influx_http import Answer
    from tests.support.upload_harness import MiniGateway, gateway_config, influx_v1_sink

    gw = MiniGateway(gateway_config(tmp_path, influx_v1_sink("local", "http://127.0.0.1:9")))
    try:
        sink = gw.sinks["local"]
        rejected = tmp_path / "rejected-local.lp"
        rejected.write_bytes(b"x" * (16 * 1024 * 1024 + 1))
        sink._reject(b"meter,site=s power_w=1 1", Answer("rejected", 400, "bad"))
        assert (tmp_path / "rejected-local.lp.1").stat().st_size == 16 * 1024 * 1024 + 1
        assert rejected.read_bytes().endswith(b"meter,site=s power_w=1 1\n")
        assert gw.metrics.get("gateway_sink_rejected_total", sink="local") == 1
    finally:
        gw.journal.close()
