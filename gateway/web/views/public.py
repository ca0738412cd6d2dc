"""The public page (``[web] public_page = true``): the public buildings' energy, no login, read-only.

Rules of this view:
- registered only when ``[web] public_page`` is true (otherwise ``/public`` is an unknown URL, sent to
  the login page like any other); it reads no session, sets no cookie, has no form and no script;
- its own Content-Security-Policy: nothing may load (``default-src 'none'``), only its inline style,
  allowed by hash; it may not be framed;
- the same page for everyone, cached by browsers and proxies for five minutes; the figures come from
  :class:`gateway.report.public.PublicPage` (computed at most every ten minutes) and the rendered HTML
  is kept with them: most requests cost a dictionary lookup;
- French only (the commune's inhabitants); the same HTML is what ``village-gateway public-page`` exports.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup

bp = Blueprint("public", __name__)

#: The page's whole style, inlined as it is (our own file: not escaped, or its hash would not match).
CSS = Markup((Path(__file__).resolve().parent.parent / "static" / "public.css").read_text(encoding="utf-8").strip())  # noqa: S704
CSP = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'sha256-{base64.b64encode(hashlib.sha256(str(CSS).encode()).digest()).decode()}'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
CACHE_CONTROL = "public, max-age=300"

_lock = threading.Lock()
_rendered: dict[int, tuple[Any, bytes]] = {}


def page_html(view: Any) -> str:
    """The page for ``view`` (in French)."""
    with force_locale("fr"):
        return render_template("public/page.html", view=view, css=CSS)


@bp.get("/public")
def page() -> Response:
    backend = current_app.extensions["gateway.backend"]
    view = backend.reports.public_view()
    key = id(current_app)
    with _lock:
        cached = _rendered.get(key)
    if cached is None or cached[0] is not view:
        cached = (view, page_html(view).encode("utf-8"))
        with _lock:
            _rendered[key] = cached
    response = Response(cached[1], mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
