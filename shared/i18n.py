"""Texts in the reader's language: gettext catalogues (Babel's .po files) per service.

A service that shows texts keeps them in `<service>/locale/<lang>/LC_MESSAGES/messages.po`, with
English source texts marked `N_()` in the code and `_()` / `{% trans %}` in its templates. The
catalogues are compiled in memory when first asked, so no .mo files are kept in the repository.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations


def N_(text: str) -> str:
    """Marks a source text for the catalogues (pybabel extracts N_); translated where it is shown."""
    return text


@lru_cache(maxsize=None)
def translations(locale_dir: Path, lang: str) -> Translations:
    """The language's catalogue under `locale_dir`, compiled from its .po file on first use."""
    with open(Path(locale_dir) / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def catalogue_messages(locale_dir: Path, lang: str) -> dict[str, str]:
    """Every msgid and its msgstr in one catalogue (for the tests that keep catalogues complete)."""
    with open(Path(locale_dir) / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=lang)
    return {m.id: m.string for m in catalog if m.id}
