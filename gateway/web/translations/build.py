"""Rebuild the admin page's catalogues: extract the strings, write the French and English ``.po``
files from :mod:`gateway.web.translations.fr`, compile the ``.mo`` files.

Run ``python -m gateway.web.translations.build`` after changing a user-visible string; a missing
French translation fails the build (and ``tests/web/test_i18n.py``).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from gateway.web.translations.fr import FR

HERE = Path(__file__).parent
_FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
WEB = HERE.parent


def extract(pot: Path) -> Catalog:
    """Extract the page's strings (templates and ``_l``/``lazy_gettext`` calls) into the template
    ``pot`` and read it back."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-F",
            str(WEB / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            str(WEB),
        ],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return read_po(f)


def main() -> int:
    pot = HERE / "messages.pot"
    template = extract(pot)
    missing = [m.id for m in template if m.id and m.id not in FR]
    if missing:
        print("missing French translations:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    for lang in ("fr", "en"):
        with pot.open("rb") as f:
            catalog = read_po(f, locale=lang)
        catalog.project = "village-gateway"
        catalog.creation_date = template.creation_date = _FIXED_DATE  # reproducible files: no build time inside
        catalog.revision_date = _FIXED_DATE
        for message in catalog:
            if message.id and lang == "fr":
                message.string = FR[str(message.id)]
        out = HERE / lang / "LC_MESSAGES"
        out.mkdir(parents=True, exist_ok=True)
        with (out / "messages.po").open("wb") as f:
            write_po(f, catalog, omit_header=False, no_location=True, sort_output=True)
        with (out / "messages.mo").open("wb") as f:
            write_mo(f, catalog)
    print(f"catalogues written: {len(template) - 1} strings (fr, en)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
