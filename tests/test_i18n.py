"""The Korean catalogue is complete and compiled, and the default policy's words are in it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from django.utils.translation import gettext, override

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def po_entries() -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry, with multi-line strings joined."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fuzzy = "#, fuzzy" in block or ", fuzzy" in block
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if m:
                current = m.group(1)
                fields[current] = m.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
            entries.append((fields["msgid"], msgstr, fuzzy))
    return entries


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = po_entries()
    assert len(entries) > 300
    untranslated = [msgid for msgid, msgstr, _ in entries if not msgstr]
    fuzzy = [msgid for msgid, _, f in entries if f]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr, _ in po_entries():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr)), msgid


def test_compiled_catalogue_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(PO)], check=True)
    assert MO.read_bytes() == fresh.read_bytes(), "run `make messages` and commit the .mo"


def test_default_policy_words_are_extracted_and_translated() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from extract_policy_strings import render

    assert (ROOT / "policy" / "default_strings.py").read_text(encoding="utf-8") == render(), (
        "run `make messages`"
    )
    from policy.default_strings import DEFAULT_POLICY_STRINGS

    with override("ko"):
        missing = [s for s in DEFAULT_POLICY_STRINGS if gettext(s) == s]
    assert not missing, missing
