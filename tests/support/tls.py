"""A self-signed certificate for the TLS tests (MQTT over TLS, InfluxDB behind HTTPS)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.procs import require_tool


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and its key for 127.0.0.1 in ``folder``, made with openssl (valid two days)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
