"""Catalogues complete and compiled; French formats (19,5 °C, 14 h 30) and English ones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from gateway.web import i18n
from gateway.web.translations.build import template_of
from gateway.words import EVENT_WORDS, say

TRANSLATIONS = Path(i18n.__file__).parent / "translations"


def source(lang: str) -> dict[str, str]:
    """The ``.po`` file of ``lang``, the source of its translations: msgid -> translation."""
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_every_string_of_the_page_has_a_french_translation(tmp_path):
    ids = {m.id for m in template_of(tmp_path / "messages.pot") if m.id}
    assert len(ids) > 150
    french = {k for k, v in source("fr").items() if v}
    assert ids - french == set(), "run: python -m gateway.web.translations.build, then translate in fr/*.po"


@pytest.mark.parametrize("key", sorted(EVENT_WORDS))
def test_every_event_word_has_french_and_english(key):
    # Given the shell's one table of event words, Then each is in both catalogues and says something
    assert EVENT_WORDS[key] in source("en")
    assert source("fr")[EVENT_WORDS[key]]
    params = {name: "x" for name in ("id", "error", "reason") if f"%({name})s" in EVENT_WORDS[key]}
    assert say(key, "en", **params) != say(key, "fr", **params)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_compiled_catalogues_match_their_sources(lang):
    po = read_po((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    mo = read_mo((TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb"))
    # English msgids are the English text: its catalogue is empty and gettext falls back to them
    assert {m.id: m.string for m in po if m.id and m.string} == {m.id: m.string for m in mo if m.id}
    if lang == "fr":
        assert all(m.string for m in po if m.id)


@pytest.fixture
def in_lang(app):
    def use(lang: str):
        ctx = app.test_request_context("/")
        ctx.push()
        from flask import session

        session["lang"] = lang
        return ctx

    return use


def test_french_formats(in_lang):
    ctx = in_lang("fr")
    try:
        assert i18n.temperature(19.5) == "19,5\u00a0°C"
        assert i18n.clock_time(time(14, 30)) == "14\u00a0h\u00a030"
        assert i18n.clock_time(time(9, 5)) == "9\u00a0h\u00a005"
        assert i18n.clock_time(time(18, 0)) == "18\u00a0h"
        assert i18n.power(12_400) == "12,4\u00a0kW"
        assert i18n.power(850) == "850\u00a0W"
        assert i18n.unit(1234.5, "kWh") == "1\u202f234,5\u00a0kWh"
        moment = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)  # 14 h 30 in Paris
        assert i18n.day(moment) == "vendredi 27 novembre"
        assert i18n.date_time(moment) == "27/11/2026 14\u00a0h\u00a030"
        assert i18n.ago(180) == "il y a 3 minutes"
        assert i18n.mode_label("hors_gel") == "Hors-gel"
        assert i18n.size(61_808) == "61,8\u00a0ko"
        assert i18n.temperature(None) == "—"
        assert i18n.temperature(float("nan")) == "—"
    finally:
        ctx.pop()


def test_english_formats(in_lang):
    ctx = in_lang("en")
    try:
        assert i18n.temperature(19.5) == "19.5\u00a0°C"
        assert i18n.clock_time(time(14, 30)) == "14:30"
        assert i18n.date_time(datetime(2026, 11, 27, 13, 30, tzinfo=UTC)) == "11/27/26 14:30"
        assert i18n.mode_label("reduit") == "Eco"
        assert i18n.weekday_name(0) == "Monday"
    finally:
        ctx.pop()
