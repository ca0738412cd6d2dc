"""Login, logout and language choice.

Rules: a failed login says only "wrong name or password" (no account discovery); failures
are throttled per name and per client address; a successful login starts a fresh session
(no session fixation) recorded server-side in the user store, which logout forgets (the old
cookie no longer opens anything); logout and language change are POST forms with a CSRF token.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from gateway.users import UserError, UserStore
from gateway.web.forms import LanguageForm, LoginForm, PasswordForm
from gateway.web.i18n import LANGUAGES
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
        by_name, by_address = current_app.extensions["gateway.throttles"]
        address = request.remote_addr or "?"
        wait = max(by_name.retry_after(f"user:{name}"), by_address.retry_after(f"addr:{address}"))
        if wait > 0:
            minutes = max(1, math.ceil(wait / 60))
            form.password.errors.append(_("Too many failed attempts. Try again in %(minutes)d min.", minutes=minutes))
            log.warning("login refused (throttled) for %r from %s", name, address)
            return render_template("login.html", form=form), 429
        store: UserStore = current_app.extensions["gateway.users"]
        user = store.authenticate(name, form.password.data)
        if user is None:
            by_name.failure(f"user:{name}")
            by_address.failure(f"addr:{address}")
            log.warning("failed login for %r from %s", name, address)
            form.password.errors.append(_("Wrong name or password."))
            status = 401
        else:
            by_name.success(f"user:{name}")
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session["user"] = user.name
            session["sid"] = store.open_session(user.name, max_age_s=session_max_age_s(current_app))
            session.permanent = True
            log.info("%s logged in from %s", user.name, address)
            return redirect(safe_next(request.args.get("next")) or url_for("overview.index"))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


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
