"""The zh-Hans and English catalogues are complete, and the English UI reads as English.

Every msgid is Simplified Chinese (the source language). The English catalogue must translate
every message, keep every placeholder, and carry no fuzzy or obsolete entries; the zh_Hans
catalogue repeats each msgid so the catalogue is complete. The page tests compile the
catalogues first (the .mo files are not in git), so they never skip.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.management import call_command
from django.test import Client
from django.utils.translation import gettext, ngettext, override, reloader

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ["en", "zh_Hans"]

# Python %-format placeholders, as used with gettext: %(name)s, %(n)d, %(size).1f, %s, %d, %%.
PERCENT = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
# str.format / JavaScript-style placeholders: {name}, {0}; Django template variables {{ name }}.
BRACES = re.compile(r"\{\{?\s*[\w.]*\s*\}?\}")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Chinese an English message may keep: the language's own name in the language switcher.
ENGLISH_MAY_KEEP = {"简体中文"}

ClientFor = Callable[[AbstractBaseUser], Client]


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    obsolete: bool = False
    line: int = 0

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.msgid[:60]!r}"


def parse_po(path: Path) -> list[Entry]:
    """A small PO reader: enough for the files makemessages writes."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None

    def flush() -> None:
        nonlocal entry, target
        if entry.line:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            entry.line = entry.line or number
            continue
        if line.startswith("#,"):
            entry.flags += [flag.strip() for flag in line[2:].split(",") if flag.strip()]
            continue
        if line.startswith("#"):
            continue
        match = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")', line)
        if match:
            keyword, index, text = match.group(1), match.group(2), ast.literal_eval(match.group(3))
            entry.line = entry.line or number
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = text
            else:
                target = (keyword, 0)
                setattr(entry, keyword, text)
            continue
        assert line.startswith('"') and target is not None, f"{path}:{number}: cannot read {raw!r}"
        text = ast.literal_eval(line)
        if target[0] == "msgstr":
            entry.msgstr[target[1]] += text
        else:
            setattr(entry, target[0], getattr(entry, target[0]) + text)
    flush()
    return entries


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def messages(language: str) -> list[Entry]:
    return [e for e in parse_po(po_path(language)) if e.msgid and not e.obsolete]


def placeholders(text: str) -> Counter[str]:
    found = PERCENT.findall(text) + [re.sub(r"\s", "", b) for b in BRACES.findall(text)]
    return Counter(p for p in found if p != "%%")


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_a_proper_header(language: str) -> None:
    header = parse_po(po_path(language))[0]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    text = header.msgstr[0]
    assert "Content-Type: text/plain; charset=UTF-8" in text
    assert f"Language: {language}\n" in text
    plural_forms = "nplurals=2; plural=(n != 1);" if language == "en" else "nplurals=1; plural=0;"
    assert f"Plural-Forms: {plural_forms}" in text
    assert len(messages(language)) > 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    nplurals = 2 if language == "en" else 1
    problems = []
    for entry in messages(language):
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy {entry.label}")
        expected = list(range(nplurals)) if entry.msgid_plural is not None else [0]
        if sorted(entry.msgstr) != expected:
            problems.append(f"msgstr forms {sorted(entry.msgstr)} instead of {expected}: {entry.label}")
        if any(not text.strip() for text in entry.msgstr.values()):
            problems.append(f"empty msgstr {entry.label}")
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_obsolete_entries(language: str) -> None:
    obsolete = [e.line for e in parse_po(po_path(language)) if e.obsolete]
    assert obsolete == [], f"remove the #~ entries at lines {obsolete}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_kept(language: str) -> None:
    problems = []
    for entry in messages(language):
        if entry.msgid_plural is None:
            if placeholders(entry.msgstr.get(0, "")) != placeholders(entry.msgid):
                problems.append(f"{entry.label} -> {entry.msgstr.get(0)!r}")
            continue
        # The last form speaks of "many" and keeps the plural msgid's placeholders; a
        # singular form may spell the number out ("One row …") but adds nothing new.
        allowed = set(placeholders(entry.msgid)) | set(placeholders(entry.msgid_plural))
        forms = [entry.msgstr[i] for i in sorted(entry.msgstr)]
        if forms and placeholders(forms[-1]) != placeholders(entry.msgid_plural):
            problems.append(f"{entry.label} (plural) -> {forms[-1]!r}")
        for form in forms:
            if not set(placeholders(form)) <= allowed:
                problems.append(f"{entry.label} -> {form!r}")
    assert problems == []


def test_english_messages_are_english() -> None:
    leftovers = [
        f"{e.label} -> {text!r}"
        for e in messages("en")
        for text in e.msgstr.values()
        if CJK.search(text) and text not in ENGLISH_MAY_KEEP
    ]
    assert leftovers == []


def test_chinese_catalogue_repeats_the_source_text() -> None:
    differing = [
        e.label
        for e in messages("zh_Hans")
        if e.msgstr.get(0) != (e.msgid if e.msgid_plural is None else e.msgid_plural)
    ]
    assert differing == []


def test_both_catalogues_hold_the_same_messages() -> None:
    def keys(language: str) -> set[tuple[str | None, str]]:
        return {(e.msgctxt, e.msgid) for e in messages(language)}

    assert keys("en") ^ keys("zh_Hans") == set()


@pytest.fixture(scope="session")
def compiled_catalogues() -> Iterator[None]:
    """Compile the catalogues (compilemessages skips a .mo newer than its .po) and drop
    any translations loaded before they existed."""
    with contextlib.chdir(LOCALE_DIR):
        call_command("compilemessages", locale=LANGUAGES, verbosity=0)
    for language in LANGUAGES:
        assert (LOCALE_DIR / language / "LC_MESSAGES" / "django.mo").is_file()
    reloader.translation_file_changed(sender=None, file_path=LOCALE_DIR / "en" / "LC_MESSAGES" / "django.mo")
    yield


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.django_db
def test_english_home_page_is_english(
    compiled_catalogues: None, client_for: ClientFor, rep: AbstractBaseUser, org: Any
) -> None:
    client = client_for(rep)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    for english in ("Sign out", "Menu", "Language", "Home", "Customer list", "Hello, 张三", "Sales rep", "Self"):
        assert english in html
    # Only data stays Chinese: the brand, the user's and the org unit's names, and the
    # Chinese entry of the language switcher.
    text = visible_text(html)
    for data in ("精耕", "张三", org.shanghai.name, "简体中文"):
        text = text.replace(data, "")
    assert CJK.findall(text) == []


@pytest.mark.django_db
def test_chinese_stays_the_default(compiled_catalogues: None, client_for: ClientFor, rep: AbstractBaseUser) -> None:
    html = client_for(rep).get("/").content.decode()

    assert '<html lang="zh-hans">' in html
    assert "退出" in html and "工作台" in html
    assert "Sign out" not in html


@pytest.mark.django_db
def test_language_switcher_turns_the_pages_english(
    compiled_catalogues: None, client_for: ClientFor, rep: AbstractBaseUser
) -> None:
    client = client_for(rep)

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302
    assert "Sign out" in client.get("/").content.decode()


def test_lookups_use_the_compiled_catalogue(compiled_catalogues: None) -> None:
    with override("en"):
        assert gettext("退出") == "Sign out"
        assert gettext("客户列表") == "Customer list"
    with override("zh-hans"):
        assert gettext("退出") == "退出"
    plural = next(e for e in messages("en") if e.msgid_plural is not None)
    assert plural.msgid_plural is not None
    with override("en"):
        assert ngettext(plural.msgid, plural.msgid_plural, 1) == plural.msgstr[0]
        assert ngettext(plural.msgid, plural.msgid_plural, 3) == plural.msgstr[1]
