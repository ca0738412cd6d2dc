"""Raw HTTP against a served app, cookies kept by the caller (what a copied cookie or a script would do)."""

from __future__ import annotations

import http.client
from email.message import Message
from urllib.parse import urlencode


def send(
    port: int, method: str, path: str, headers: dict[str, str], form: dict[str, str] | None = None
) -> tuple[int, Message, str]:
    """One request to 127.0.0.1:``port`` with ``headers`` (``form`` sent urlencoded); status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = None
    if form is not None:
        body = urlencode(form)
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        conn.close()
