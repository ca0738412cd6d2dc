"""Rendering the web's templates outside the server: the council's report and the public page's export.

Rules: the same templates, filters and catalogues as the admin page (so a figure reads the same
everywhere), French always (these documents are for the commune); no request, no session, no user:
a throwaway Flask app renders in a bare request context and is dropped.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_babel import Babel

from gateway import __version__
from gateway.web import charts, i18n


def offline_app(config: Any) -> Flask:
    """A minimal app carrying the templates, the French catalogue and the formatting filters."""
    app = Flask("gateway.web.app")  # same root: templates/ and translations/ of gateway/web
    app.config.update(
        BABEL_DEFAULT_LOCALE="fr",
        GATEWAY_LANGUAGE="fr",
        GATEWAY_TIMEZONE=config.site.timezone,
    )
    Babel(app, locale_selector=lambda: "fr")
    app.jinja_env.filters.update(i18n.FILTERS)
    app.jinja_env.globals.update(i18n.FILTERS, lang=lambda: "fr", site_name=config.site.name, version=__version__)
    app.jinja_env.globals.update(charts.GLOBALS)
    return app


def render(config: Any, template: str, **context: Any) -> str:
    """``template`` rendered in French with ``context``."""
    app = offline_app(config)
    with app.test_request_context("/"):
        return render_template(template, **context)
