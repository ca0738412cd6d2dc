"""The admin page's Flask application factory.

Rules of this module:
- :func:`create_app` only wires: configuration, security, i18n and blueprints; the pages get
  everything from the :class:`gateway.web.backend.Backend` (the narrow thread-safe façade
  over the core) and the :class:`gateway.users.UserStore`, never from globals;
- no inline script or style anywhere (the CSP forbids them); static assets are addressed
  with a content hash (``asset()`` in templates) so they can be cached for a year.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_babel import Babel
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect

from gateway import __version__
from gateway.config import GatewayConfig
from gateway.control.values import ControlBusyError
from gateway.users import UserStore
from gateway.web import charts, i18n, security
from gateway.web.backend import Backend
from gateway.web.login_guard import LoginGuard
from gateway.web.views import actions, auth, energy, lighting, monitoring, overview, public, system, users_admin, zone

STATIC = Path(__file__).parent / "static"


def create_app(
    *,
    config: GatewayConfig,
    backend: Backend,
    users: UserStore,
    secret_key: bytes,
    login_guard: LoginGuard | None = None,
    testing: bool = False,
) -> Flask:
    """Build the admin page for one gateway.

    ``login_guard`` slows failed logins down per (account, client) (default from ``[web]``:
    ``login_max_failures`` free failures, delays doubling up to ``login_lockout_s``).
    """
    web = config.web
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config.update(
        SECRET_KEY=secret_key,
        TESTING=testing,
        SESSION_COOKIE_NAME="vg_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=web.session_lifetime_min),
        SESSION_REFRESH_EACH_REQUEST=True,
        SEND_FILE_MAX_AGE_DEFAULT=timedelta(days=365),
        MAX_CONTENT_LENGTH=security.MAX_BODY_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=True,
        BABEL_DEFAULT_LOCALE="fr",
        GATEWAY_LANGUAGE=web.language,
        GATEWAY_TIMEZONE=config.site.timezone,
        GATEWAY_SECURE_COOKIES=web.secure_cookies,
        GATEWAY_BUILDINGS={bid: b.name for bid, b in config.buildings.items()},
    )
    app.extensions["gateway.backend"] = backend
    app.extensions["gateway.users"] = users
    app.extensions["gateway.login_guard"] = login_guard or LoginGuard(
        free=web.login_max_failures, max_delay_s=float(web.login_lockout_s)
    )
    CSRFProtect(app)
    Babel(app, locale_selector=i18n.select_locale)
    security.install(app)
    app.jinja_env.filters.update(i18n.FILTERS)
    app.jinja_env.globals.update(i18n.FILTERS, lang=i18n.current_language)
    app.jinja_env.globals.update(asset=_asset_url(), site_name=config.site.name, version=__version__)
    app.jinja_env.globals.update(charts.GLOBALS)


    for module in (auth, monitoring, overview, zone, lighting, energy, system, actions, users_admin):
        app.register_blueprint(module.bp)
    if web.public_page:  # off by default: /public is then an unknown URL like any other

        app.register_blueprint(public.bp)

    _error_pages(app)
    return app


def _asset_url() -> Any:
    """``asset('app.css')`` -> ``/static/app.css?v=<hash>``; hashes computed once per file."""
    from flask import url_for

    cache: dict[str, str] = {}

    def asset(filename: str) -> str:
        digest = cache.get(filename)
        if digest is None:
            digest = hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]
            cache[filename] = digest
        return url_for("static", filename=filename, v=digest)

    return asset


#: status -> (title, message) of the error pages that say nothing more
_PLAIN_ERRORS = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("Your account cannot do this. Ask an administrator.")),
    404: (_l("Not found"), _l("This page does not exist.")),
    405: (_l("Not allowed"), _l("This action is not available here.")),
    413: (_l("Too large"), _l("The form sent too much data.")),
    500: (_l("Error"), _l("Something went wrong; the change was not applied. The gateway keeps running.")),
}


def _error_pages(app: Flask) -> None:
    def page(code: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return page(
            400,
            _("Form expired"),
            _("The form was too old or came from elsewhere. Reload the page and try again."),
        )

    def plain(code: int, title: Any, message: Any) -> Callable[[Exception], tuple[str, int]]:
        def handler(exc: Exception) -> tuple[str, int]:
            return page(code, str(title), str(message))

        return handler

    for code, (title, message) in _PLAIN_ERRORS.items():
        app.register_error_handler(code, plain(code, title, message))

    @app.errorhandler(ControlBusyError)
    def busy(exc: ControlBusyError) -> Any:
        # the control loop did not take the change within 5 s: nothing was applied, the form can be sent again
        body, code = page(
            503,
            _("Busy"),
            _("The gateway is busy and nothing was changed. Please try again in a moment."),
        )
        return body, code, {"Retry-After": "5"}
