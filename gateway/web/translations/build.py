"""Rebuild the catalogues: extract the strings, merge them into the ``.po`` files, compile the ``.mo`` files.

The ``.po`` files (``fr`` and ``en``) are the source of the translations: translators edit them.
The strings are the admin page's (templates and ``_l``/``lazy_gettext`` calls) and the shell's
event words (:data:`gateway.words.EVENT_WORDS`). Run ``python -m gateway.web.translations.build``
after changing a user-visible string: new strings are added to both ``.po`` files (empty), strings
gone are dropped; a French translation missing fails the build before anything is compiled (and
``tests/web/test_i18n.py`` fails too): fill it in ``fr/LC_MESSAGES/messages.po`` and run it again.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from gateway.words import EVENT_WORDS

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


def template_of(pot: Path) -> Catalog:
    """Every string to translate: the page's (extracted into ``pot``) and the shell's event words."""
    template = extract(pot)
    for text in EVENT_WORDS.values():
        template.add(text, flags=("python-format",) if "%(" in text else ())
    return template


def merged(lang: str, template: Catalog) -> Catalog:
    """The ``lang`` catalogue (its ``.po`` file) updated to ``template``: translations kept, new
    strings added empty, strings gone dropped."""
    path = HERE / lang / "LC_MESSAGES" / "messages.po"
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
    else:
        catalog = Catalog(locale=lang)
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.obsolete.clear()
    catalog.project = "village-gateway"
    catalog.creation_date = _FIXED_DATE  # reproducible files: no build time inside
    catalog.revision_date = _FIXED_DATE
    return catalog


def main() -> int:
    template = template_of(HERE / "messages.pot")
    catalogs = {lang: merged(lang, template) for lang in ("fr", "en")}
    for lang, catalog in catalogs.items():
        with (HERE / lang / "LC_MESSAGES" / "messages.po").open("wb") as f:
            write_po(f, catalog, omit_header=False, no_location=True, sort_output=True)
    missing = [str(m.id) for m in catalogs["fr"] if m.id and not m.string]
    if missing:
        print("missing French translations (fr/LC_MESSAGES/messages.po):", *missing, sep="\n  ", file=sys.stderr)
        return 1
    for lang, catalog in catalogs.items():
        with (HERE / lang / "LC_MESSAGES" / "messages.mo").open("wb") as f:
            write_mo(f, catalog)
    print(f"catalogues written: {len(template) - 1} strings (fr, en)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
