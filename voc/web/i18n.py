"""The survey page's own words in the customer's language: Babel catalogs and language choice.

The catalogs are `locale/<lang>/LC_MESSAGES/messages.po` (packaged as resources, like templates). They
are compiled in memory the first time a language is used, so no build output (.mo) is kept in git."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from io import BytesIO
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from voc.resources import resource_dir
from voc.web.templating import templates

DEFAULT_LANGUAGE = "en"
_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark a string for the catalogs; it is translated where it is shown."""
    return message


def catalog_languages() -> frozenset[str]:
    """Languages the page's own words are translated into."""
    return _catalog_languages()


@lru_cache(maxsize=1)
def _catalog_languages() -> frozenset[str]:
    root = resource_dir("locale")
    return frozenset(p.parent.parent.name for p in root.glob("*/LC_MESSAGES/messages.po"))


@lru_cache(maxsize=32)
def translations(language: str) -> NullTranslations:
    """The compiled catalog for a language (de-AT uses de); English words when there is none."""
    primary = language.lower().split("-")[0]
    path = resource_dir("locale") / primary / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=primary)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def gettext_functions(language: str) -> dict[str, Callable[..., str]]:
    """`_` and `ngettext` for templates and code: `_("Question %(n)s of %(total)s", n=2, total=5)`."""
    catalog = translations(language)

    def gettext(message: str, **values: Any) -> str:
        text = catalog.gettext(message)
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return catalog.ngettext(singular, plural, n) % {"n": n, **values}

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def accepted_languages(header: str | None) -> list[str]:
    """Accept-Language tags, most wanted first (q=0 means "not this one")."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and _TAG.match(tag) and quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def match_language(wanted: str | None, available: Iterable[str]) -> str | None:
    """The available language that serves `wanted`: the same tag, else the same primary language."""
    if not wanted or not _TAG.match(wanted):
        return None
    options = list(available)
    by_tag = {tag.lower(): tag for tag in options}
    if wanted.lower() in by_tag:
        return by_tag[wanted.lower()]
    primary = wanted.lower().split("-")[0]
    return next((tag for tag in options if tag.lower().split("-")[0] == primary), None)


def choose_language(*, requested: str | None, remembered: str | None, accept_language: str | None,
                    survey_language: str, translated: Iterable[str]) -> str:
    """`?lang=` (or the one asked for earlier), else the browser's preference among the languages the
    survey is written in, else the survey's own language."""
    written = [survey_language, *translated]
    explicit = match_language(requested, [*written, *sorted(catalog_languages())])
    if explicit:
        return explicit
    if remembered:
        return remembered
    for tag in accepted_languages(accept_language):
        found = match_language(tag, written)
        if found:
            return found
    return survey_language or DEFAULT_LANGUAGE


# Every template may call _() and ngettext(); pages that know the customer's language pass their own.
templates.env.globals.update(gettext_functions(DEFAULT_LANGUAGE))
