"""The README and docs/*.md link nothing a user of the repository does not have: every relative link
resolves to a file or folder inside the repository (web links are left alone)."""
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and [text]: target reference definitions; code spans are not links
INLINE = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)


def links(text: str):
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return INLINE.findall(text) + DEFINITION.findall(text)


def local_target(doc: Path, target: str):
    """The path a relative link points to, or None for web links, mail and in-page anchors."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
        return None
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    return (ROOT / path.lstrip("/")) if path.startswith("/") else (doc.parent / path)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_relative_links_resolve_inside_the_repository(doc):
    bad = []
    for target in links(doc.read_text(encoding="utf-8")):
        path = local_target(doc, target)
        if path is None:
            continue
        resolved = path.resolve()
        if ROOT.resolve() not in (resolved, *resolved.parents):
            bad.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            bad.append(f"{target} (missing)")
    assert bad == [], f"{doc.relative_to(ROOT)}: {bad}"


def test_the_checker_finds_what_it_should():
    found = links("see [SPEC](../shared/SPEC.md), [x]( docs/a.md#top ), `[no](code.md)`, [w](https://e.org)\n"
                  "[ref]: ../outside.md\n```\n[in](block.md)\n```\n")
    assert found == ["../shared/SPEC.md", "docs/a.md#top", "https://e.org", "../outside.md"]
    assert local_target(ROOT / "README.md", "https://e.org") is None
    assert local_target(ROOT / "README.md", "../shared/SPEC.md").resolve().parent == ROOT.parent / "shared"
    assert (ROOT / "README.md").exists() and "docs/theory.md" in links((ROOT / "README.md").read_text())
