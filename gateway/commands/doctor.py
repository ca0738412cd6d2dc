"""``village-gateway doctor [--config FILE]``: check the installation, one line per check.

Each line is ``OK``, ``WARN`` or ``FAIL``, what was checked, and what to do about it.
Exit code: 0 everything OK, 1 warnings only, 2 at least one failure. Run it as root (sudo):
it judges access for the service user, and reads secret files to test the credentials.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONFIG = Path("/etc/village-gateway/gateway.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each server")


def run(args: argparse.Namespace) -> int:
    from gateway.doctor import Probes, diagnose
    from gateway.doctor_finding import exit_code

    findings = diagnose(args.config, probes=Probes(timeout_s=args.timeout))
    for finding in findings:
        print(finding)
    code = exit_code(findings)
    summary = {0: "all good", 1: "working, with warnings above", 2: "problems above need fixing"}[code]
    print(f"doctor: {summary}")
    return code
