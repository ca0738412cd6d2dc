"""Login, logout and language choice.

Rules: a failed login says only "wrong name or password" (no account discovery); failures
slow down the (account, client) pair that made them, not the account everywhere
(:mod:`gateway.web.login_guard`; a browser that logged in once carries a signed device cookie
that identifies it as its own client); a successful login starts a fresh session
(no session fixation) recorded server-side in the user store, which logout forgets (the old
cookie no longer opens anything); logout and language change are POST forms with a CSRF token.
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.users import UserError, UserStore
from gateway.web.forms import LanguageForm, LoginForm, PasswordForm
from gateway.web.i18n import LANGUAGES
from gateway.web.login_guard import LoginGuard
from gateway.web.security import safe_next, session_max_age_s

log = logging.getLogger("gateway.web.auth")
bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; on success go where the user was going."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        name = form.name.data.strip().lower()
        guard: LoginGuard = current_app.extensions["gateway.login_guard"]
        address = request.remote_addr or "?"  # waitress: X-Forwarded-For only from [web].trusted_proxy
        device = _device(name)
        client = f"device:{device}" if device else f"addr:{address}"
        wait = guard.wait(name, client, trusted=bool(device))
        if wait > 0:
            seconds = math.ceil(wait)
            if seconds < 60:
                message = _("Too many failed attempts. Try again in %(seconds)d s.", seconds=seconds)
            else:
                message = _("Too many failed attempts. Try again in %(minutes)d min.", minutes=math.ceil(seconds / 60))
            form.password.errors.append(message)
            log.warning("login refused (slowed down) for %r from %s", name, client)
            return render_template("login.html", form=form), 429, {"Retry-After": str(seconds)}
        store: UserStore = current_app.extensions["gateway.users"]
        user = store.authenticate(name, form.password.data)
        if user is None:
            guard.failure(name, client, trusted=bool(device))
            log.warning("failed login for %r from %s", name, client)
            form.password.errors.append(_("Wrong name or password."))
            status = 401
        else:
            guard.success(name, client, trusted=bool(device))
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session["user"] = user.name
            session["sid"] = store.open_session(user.name, max_age_s=session_max_age_s(current_app))
            session.permanent = True
            log.info("%s logged in from %s", user.name, address)
            response = redirect(safe_next(request.args.get("next")) or url_for("overview.index"))
            if device is None:
                _give_device_cookie(response, user.name)
            return response
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


#: The device cookie: proof that this browser once logged in to the account (signed with the app's key).
DEVICE_COOKIE = "vg_device"
_DEVICE_SALT = "village-gateway device"
_DEVICE_MAX_AGE_S = 365 * 86400


def _device(name: str) -> str | None:
    """The id of this browser's device cookie if it was issued to ``name`` within a year, else ``None``."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value or len(value) > 200:
        return None
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)  # type: ignore[arg-type]
    try:
        data = serializer.loads(value, max_age=_DEVICE_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, list) or len(data) != 2 or data[0] != name or not isinstance(data[1], str):
        return None
    return data[1]


def _give_device_cookie(response: Any, name: str) -> None:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)  # type: ignore[arg-type]
    response.set_cookie(
        DEVICE_COOKIE,
        serializer.dumps([name, secrets.token_urlsafe(12)]),
        max_age=_DEVICE_MAX_AGE_S,
        path=url_for("auth.login"),
        secure=current_app.session_interface.get_cookie_secure(current_app),
        httponly=True,
        samesite="Strict",
    )


@bp.post("/logout")
def logout() -> Any:
    """End the session, server-side: its cookie is worth nothing afterwards."""
    name = session.get("user")
    sid = session.get("sid")
    lang = session.get("lang")
    if name and sid:
        store: UserStore = current_app.extensions["gateway.users"]
        store.close_session(str(name), str(sid))
    session.clear()
    if lang:
        session["lang"] = lang
    if name:
        log.info("%s logged out", name)
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> Any:
    """Switch the interface language (kept in the session)."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in LANGUAGES:
        session["lang"] = form.lang.data
    target = safe_next(request.form.get("next"))
    return redirect(target or url_for("overview.index"))


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    """Change one's own password (the current one is asked again)."""
    form = PasswordForm()
    store: UserStore = current_app.extensions["gateway.users"]
    status = 200
    if form.validate_on_submit():
        if store.authenticate(g.user.name, form.current.data) is None:
            form.current.errors.append(_("Wrong password."))
            status = 400
        else:
            try:  # every other session of the account ends; this one stays open
                store.set_password(g.user.name, form.new.data, keep_session=str(session.get("sid") or ""))
            except UserError as exc:
                form.new.errors.append(str(exc))
                status = 400
            else:
                current_app.extensions["gateway.backend"].record_action(
                    g.user.name, "password", g.user.name, "", _("changed")
                )
                flash(_("Password changed."), "ok")
                return redirect(url_for("overview.index"))
    elif request.method == "POST":
        status = 400
    return render_template("password.html", form=form), status
