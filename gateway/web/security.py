"""HTTP hardening: security headers, cache policy, cookie flags, login and role checks.

Rules of this module:
- every response carries the CSP (no inline script or style: ``'self'`` only), frame denial
  (``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``), ``nosniff`` and a strict referrer
  policy; pages are ``no-store`` (they show live state and are behind a login), static assets
  are cached for a year (their URLs carry a content hash);
- every endpoint needs a logged-in user except those in :data:`PUBLIC_ENDPOINTS`; the public page
  (:data:`STATELESS_ENDPOINTS`) does not even read the session and keeps its own CSP and cache policy;
- the session cookie holds the user's name and a random session id that the user store must
  still hold on every request (:meth:`gateway.users.UserStore.session_user`, a read): logout,
  a password change (other sessions), a role change and removing the account end sessions
  server-side at once; an old cookie is worth nothing after that.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from gateway.users import SESSION_MAX_AGE_S, User, UserStore
from gateway.web.policy import CSP, MAX_BODY_BYTES, MAX_HEADER_BYTES, SECURITY_HEADERS, waitress_limits

__all__ = ["CSP", "MAX_BODY_BYTES", "MAX_HEADER_BYTES", "SECURITY_HEADERS", "waitress_limits"]


#: Endpoints reachable without logging in.
PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "auth.language", "monitoring.health", "monitoring.metrics", "static", "public.page"}
)
#: Endpoints that never read the session (no cookie set, the same answer for everyone) and set their
#: own Cache-Control and CSP: the public page.
STATELESS_ENDPOINTS = frozenset({"public.page"})

F = TypeVar("F", bound=Callable[..., Any])


class GatewaySessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose Secure flag follows ``[web].secure_cookies``; the stateless
    endpoints (the public page) never send the cookie back, even to a logged-in visitor."""

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if request.endpoint in STATELESS_ENDPOINTS:
            return  # no Set-Cookie, no Vary: Cookie: the same cacheable answer for everyone
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        policy = app.config["GATEWAY_SECURE_COOKIES"]
        if policy == "always":
            return True
        if policy == "never":
            return False
        try:
            return bool(request.is_secure)
        except RuntimeError:  # outside a request
            return False


def session_max_age_s(app: Flask) -> float:
    """How long after its login a session may live server-side: a day, or the configured
    (sliding) lifetime if longer."""
    return max(SESSION_MAX_AGE_S, app.permanent_session_lifetime.total_seconds())


def install(app: Flask) -> None:
    """Register the login gate and the header policy on ``app``."""
    app.session_interface = GatewaySessionInterface()
    app.before_request(_load_user)
    app.after_request(_headers)


def _load_user() -> Any:
    g.user = None
    if request.endpoint in STATELESS_ENDPOINTS:
        return None  # no session read: no Set-Cookie, no Vary: Cookie, cacheable
    name = session.get("user")
    if name:
        store: UserStore = current_app.extensions["gateway.users"]
        user = store.session_user(str(name), str(session.get("sid") or ""), max_age_s=session_max_age_s(current_app))
        if user is not None:
            g.user = user
        else:
            lang = session.get("lang")
            session.clear()  # ended server-side (logout, password or role change, account removed) or expired
            if lang:
                session["lang"] = lang
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.endpoint is None:  # unknown URL: same answer as a protected one (no route discovery)
            return redirect(url_for("auth.login"))
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target.rstrip("?") if target else None))
    return None


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint == "static":
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    elif request.endpoint in STATELESS_ENDPOINTS and response.status_code == 200:
        response.headers.setdefault("Cache-Control", "no-store")
    else:
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    return response


def require_role(role: str) -> Callable[[F], F]:
    """Refuse (403) a user whose role is not ``role`` (admins may do everything)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user: User | None = g.get("user")
            if user is None:
                abort(401)
            if role == "admin" and not user.is_admin:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def safe_next(target: str | None) -> str | None:
    """A redirect target only if it is a local path (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in target):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" would become "//evil.example"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
