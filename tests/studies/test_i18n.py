"""The Italian catalogue: every message of the reader pages translated, and the committed .mo compiled from the
current .po (so nothing needs GNU gettext at run time)."""

import ast
import gettext
import re
from pathlib import Path

from django.conf import settings

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES"
# Django's own catalogues translate these.
PROVIDED_BY_DJANGO = {"Home"}


def read_po(path: Path) -> dict[str | tuple[str, int], str]:
    """msgid -> msgstr of a .po file; a plural message gives (msgid, n) -> msgstr[n] for each form, as Python's
    gettext keys its catalogue (no contexts are used in this project)."""
    entries: dict[str | tuple[str, int], str] = {}
    current: dict[str, list[str]] = {}
    field = None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        match = re.match(r"^(msgid|msgid_plural|msgstr|msgstr\[\d+\]) (\".*\")$", line)
        if match:
            field = match.group(1)
            current[field] = [ast.literal_eval(match.group(2))]
        elif line.startswith('"') and field:
            current[field].append(ast.literal_eval(line))
        elif not line.strip():
            msgid = "".join(current.get("msgid", []))
            if "msgid_plural" in current:
                for name, value in current.items():
                    if form := re.fullmatch(r"msgstr\[(\d+)\]", name):
                        entries[(msgid, int(form.group(1)))] = "".join(value)
            elif "msgid" in current and "msgstr" in current:
                entries[msgid] = "".join(current["msgstr"])
            current, field = {}, None
    return entries


def test_every_message_of_the_reader_pages_is_translated():
    entries = read_po(CATALOGUE / "django.po")
    untranslated = [msgid for msgid, msgstr in entries.items() if msgid and not msgstr]
    assert set(untranslated) <= PROVIDED_BY_DJANGO, untranslated
    assert len(entries) > 80


def test_the_compiled_catalogue_matches_the_po_file():
    entries = read_po(CATALOGUE / "django.po")
    with open(CATALOGUE / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        msgid
        for msgid, msgstr in entries.items()
        if msgid and msgstr and compiled._catalog.get(msgid) != msgstr
    ]
    assert not stale, f"run manage.py compilemessages; stale: {stale[:3]}"
    catalog = {k: v for k, v in compiled._catalog.items() if k}
    assert set(catalog) == {k for k, v in entries.items() if k and v}


def test_placeholders_survive_translation():
    for key, msgstr in read_po(CATALOGUE / "django.po").items():
        msgid = key if isinstance(key, str) else key[0]  # a plural form: the singular's placeholders
        if msgstr:
            assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr)), msgid
