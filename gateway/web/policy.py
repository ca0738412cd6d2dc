"""The page's HTTP policy as plain data, without Flask: headers every answer carries, size limits.

Rules of this module:
- it imports nothing but the standard library: the daemon's lean front (:mod:`gateway.web.front`)
  answers ``/health`` and ``/metrics`` with the same headers before Flask is ever loaded;
- :mod:`gateway.web.security` applies the same values to every answer of the admin app.
"""

from __future__ import annotations

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

#: The largest request body accepted (every form of the page fits in a few kB). Flask refuses a larger
#: one (413), and so does waitress before reading it (:func:`waitress_limits`): nothing is spooled to disk.
MAX_BODY_BYTES = 64 * 1024
#: The largest request head (request line and headers) accepted: 431 beyond it, from waitress.
MAX_HEADER_BYTES = 32 * 1024


def waitress_limits() -> dict[str, int]:
    """waitress options that refuse an oversized body before reading it, and never spool one to disk.

    waitress answers 413 as soon as a ``Content-Length`` reaches ``max_request_body_size`` (the body
    is not read), and stops a chunked body when the bytes received reach it; below that, a body stays
    in memory as long as it is under ``inbuf_overflow`` (waitress's default, 512 kB, then spools to a
    temporary file; its default body limit is 1 GiB).
    """
    return {
        "max_request_body_size": MAX_BODY_BYTES + 1,  # waitress refuses >= this: the same limit as Flask's
        "inbuf_overflow": 2 * MAX_BODY_BYTES,  # every accepted body (and its chunk framing) stays in memory
        # headers are held in memory until complete (default 256 kB): ours carry two small cookies
        "max_request_header_size": MAX_HEADER_BYTES,
    }
