"""The shell's own event words: one table of English messages, translated by the page's catalogues.

Rules of this module:
- :data:`EVENT_WORDS` is the one table of the words the shell (control, the daemon's parts) puts in
  events and journaled reasons; each is an English gettext msgid with ``%(name)s`` parameters;
- the translations are the admin page's catalogues (``gateway/web/translations/<lang>/LC_MESSAGES``):
  the ``.po`` files are the source translators edit, ``python -m gateway.web.translations.build``
  adds these msgids to them and compiles the ``.mo`` files read here with the standard
  :mod:`gettext` (no Flask, no Babel in the daemon); a language without a catalogue, or a word
  missing from it, falls back to the English;
- the rules' own reasons keep their table (:mod:`rules.reasons`: the pure core owns its words).

Example::

    say("rules_failed_end", "fr")   # "Les règles s'évaluent de nouveau : contrôle normal"
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

#: Where the compiled catalogues are (shipped as package data).
CATALOGUES = Path(__file__).parent / "web" / "translations"

#: Event and reason words of the shell: key -> English msgid.
EVENT_WORDS: dict[str, str] = {
    "rules_failed": (
        "The rules no longer evaluate: heating off (frost protection for pilot wire), lighting at its "
        "boot state; see the service log"
    ),
    "rules_failed_end": "The rules evaluate again: normal control",
    "settings_row_invalid": "Booking/override %(id)s ignored: %(error)s",
    "relay_safe_level": "safety level: the rules no longer evaluate",
    "relay_put_back": "%(reason)s (put back: changed outside control)",
}


@functools.cache
def _catalogue(lang: str) -> gettext.NullTranslations:
    return gettext.translation("messages", localedir=CATALOGUES, languages=[lang], fallback=True)


def say(key: str, lang: str = "fr", **params: object) -> str:
    """The event word ``key`` in ``lang`` with its parameters filled in."""
    text = _catalogue(lang).gettext(EVENT_WORDS[key])
    return text % params if params else text
