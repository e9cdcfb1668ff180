"""The page's own words: catalogs complete and in step with the code, and how a language is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from voc.resources import resource_dir
from voc.web.i18n import accepted_languages, catalog_languages, choose_language, gettext_functions, match_language

ROOT = Path(__file__).resolve().parents[2]


def _extracted() -> set[str | tuple[str, str]]:
    """What `pybabel extract -F locale/babel.cfg -k N_` finds in the code and templates today."""
    method_map = [("voc/web/survey.py", "python"), ("templates/survey/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"N_": None, "_": None, "ngettext": (1, 2)}):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_word_of_the_page_is_translated(language):
    with (resource_dir("locale") / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    translated = {(m.id if isinstance(m.id, str) else tuple(m.id)) for m in catalog if m.id and m.string
                  and all(m.string if isinstance(m.string, tuple) else [m.string])}
    missing = _extracted() - translated
    assert not missing, f"run pybabel (see locale/README.md): {language} lacks {sorted(map(str, missing))}"


def test_catalogs_compile_in_memory():
    assert {"en", "de"} <= catalog_languages()
    german = gettext_functions("de-AT")
    assert german["_"]("Question %(n)s", n=2) == "Frage 2"
    assert german["ngettext"]("Please check %(n)s answer", "Please check %(n)s answers", 2) == \
        "Bitte prüfen Sie 2 Antworten"
    assert gettext_functions("xx")["_"]("Next") == "Next"


def test_accept_language_is_ranked_by_quality():
    assert accepted_languages("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == ["fr-CH", "fr", "en", "de"]
    assert accepted_languages("de;q=0, en;q=0.1") == ["en"]
    assert accepted_languages("en;q=oops, <script>, de") == ["de"]
    assert accepted_languages(None) == []


def test_match_language_prefers_the_same_tag_then_the_same_language():
    assert match_language("de-AT", ["en", "de"]) == "de"
    assert match_language("PT-br", ["pt-PT", "pt-BR"]) == "pt-BR"
    assert match_language("de", ["en"]) is None
    assert match_language("../etc", ["en"]) is None


def test_lang_then_remembered_then_browser_then_the_survey_s_own():
    choose = dict(survey_language="en", translated=["de"])
    assert choose_language(requested="de", remembered="en", accept_language="en", **choose) == "de"
    assert choose_language(requested="nope", remembered="de", accept_language="en", **choose) == "de"
    assert choose_language(requested=None, remembered=None, accept_language="fr, de;q=0.5", **choose) == "de"
    assert choose_language(requested=None, remembered=None, accept_language="fr", **choose) == "en"
    # The page's own words exist in German, so ?lang=de works for a survey written only in English.
    assert choose_language(requested="de", remembered=None, accept_language=None, survey_language="en",
                           translated=[]) == "de"
