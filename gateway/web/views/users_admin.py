"""Utilisateurs (admins only): list, add, remove accounts. Every change goes to the action log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from gateway.users import UserError, UserStore
from gateway.web.forms import UserAddForm, UserRemoveForm
from gateway.web.security import require_role
from gateway.web.views._common import backend

bp = Blueprint("users_admin", __name__)


def _store() -> UserStore:
    store: UserStore = current_app.extensions["gateway.users"]
    return store


def render(form: UserAddForm | None = None, status: int = 200) -> Any:
    return (
        render_template(
            "users.html",
            users=_store().users(),
            form=form or UserAddForm(prefix="add"),
            remove_form=UserRemoveForm(prefix="rm"),
            page="users",
        ),
        status,
    )


@bp.get("/utilisateurs")
@require_role("admin")
def index() -> Any:
    return render()


@bp.post("/utilisateurs/ajouter")
@require_role("admin")
def add() -> Any:
    form = UserAddForm(prefix="add")
    if not form.validate_on_submit():
        return render(form, 400)
    try:
        _store().add(form.name.data, form.role.data, form.password.data)
    except UserError as exc:
        getattr(form, exc.field, form.name).errors.append(
            _("This name is already taken.") if "exists" in str(exc) else str(exc)
        )
        return render(form, 400)
    backend().record_action(g.user.name, "user-add", form.name.data, "", form.role.data)
    flash(_("Account %(name)s created.", name=form.name.data), "ok")
    return redirect(url_for("users_admin.index"))


@bp.post("/utilisateurs/supprimer")
@require_role("admin")
def remove() -> Any:
    form = UserRemoveForm(prefix="rm")
    if not form.validate_on_submit():
        abort(400)
    name = form.name.data
    if name == g.user.name:
        flash(_("You cannot remove your own account."), "error")
        return redirect(url_for("users_admin.index"))
    user = _store().get(name)
    if user is None:
        abort(404)
    try:
        _store().remove(name)
    except UserError as exc:  # the accounts file cannot be written (a full disk): nothing changed
        flash(str(exc), "error")
        return redirect(url_for("users_admin.index"))
    backend().record_action(g.user.name, "user-remove", name, user.role, "")
    flash(_("Account %(name)s removed.", name=name), "ok")
    return redirect(url_for("users_admin.index"))
