"""The admin page for the municipal agent (Flask, served by waitress in the daemon's web thread).

``create_app`` lives in :mod:`gateway.web.app`; this package's import has no side effects.
"""
