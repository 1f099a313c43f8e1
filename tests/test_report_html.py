"""`verify report --html`: one self-contained page — parsed always, rendered in headless Chromium when
it is installed (`apt-get install chromium`; the rendering test skips without it)."""
import base64
import os
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from verify.catalogue import all_cases
from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
TRAINED = ROOT / "bench" / "results" / "figure1.json"


class Page(HTMLParser):
    """Tables as lists of rows of cell texts, the images' sources, and anything that loads from outside."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.external, self.scripts = [], [], [], 0
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if key in a and not a[key].startswith("data:"):
                self.external.append(a[key])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["report", "--no-extra", "--samples", "5", "--budget", "64", "--trained", str(TRAINED),
                 "--html", str(out)]) == 0
    return out


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_page_has_the_tables_and_one_embedded_figure_per_task(page):
    parsed = Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    names = [c.name for c in all_cases()]
    verdicts = parsed.tables[0]
    assert verdicts[0][:4] == ["task", "program", "APE", "NoPE"] and "ours APE" in verdicts[0]
    assert [r[0] for r in verdicts[1:]] == names
    col = {h: k for k, h in enumerate(verdicts[0])}
    for row in verdicts[1:]:
        assert len(row) == len(verdicts[0])
        assert row[col["APE"]] in "✓✗?" and row[col["NoPE"]] in "✓✗?"
    by = {r[0]: r for r in verdicts[1:]}
    assert by["dyck1"][col["paper APE"]] == "✓ 100/100/100"
    assert by["tomita5"][col["APE"]] == "✗" and by["bin_majority"][col["ours APE"]] != "—"
    from verify.trained import TRAINED_HEADERS
    ours = [t for t in parsed.tables if t and t[0] == TRAINED_HEADERS]
    assert len(ours) == 1 and {r[0] for r in ours[0][1:]} >= {"bin_majority", "parity", "dyck1"}
    assert all(r[-1] in ("yes", "NO", "—") for r in ours[0][1:])
    # self-contained: every image inline, no script, nothing fetched from elsewhere
    assert parsed.external == [] and parsed.scripts == 0
    assert len(parsed.images) == len(names)
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        width, height = _png_size(base64.b64decode(src.split(",", 1)[1]))
        assert (width, height) == (320, 208)


def test_html_output_errors_are_user_errors(tmp_path, capsys):
    folder = tmp_path / "adir.html"
    folder.mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target, words in ((tmp_path / "r.txt", "must end in .html"), (folder, "is a folder"),
                          (blocker / "r.html", "file")):
        code = main(["report", "--no-extra", "--samples", "5", "--budget", "64", "--html", str(target)])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "Traceback" not in err, (target, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.html", "file"] and not any(folder.iterdir())


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_chromium_screenshot_shows_the_table(page, tmp_path):
    from PIL import Image
    shot = tmp_path / "shot.png"
    profile = tempfile.mkdtemp(dir=tmp_path)
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                    f"--screenshot={shot}", "--window-size=1400,2000", page.resolve().as_uri()],
                   capture_output=True, timeout=120, check=False, env={**os.environ, "HOME": str(tmp_path)})
    assert shot.exists(), "chromium wrote no screenshot"
    img = Image.open(shot).convert("RGB")
    assert img.size == (1400, 2000)
    px = img.load()
    # the table's cell borders (#d0d7de): one long horizontal line per row of the verdicts table
    lines = [y for y in range(img.size[1])
             if sum(1 for x in range(0, 1000, 4) if px[x, y] == (0xd0, 0xd7, 0xde)) > 150]
    assert len(lines) >= len(all_cases()) + 1, len(lines)
    # the ✓ (green) and ✗ (red) marks are drawn
    colours = {px[x, y] for y in range(0, 1400, 2) for x in range(0, 700, 2)}
    assert any(g > 80 and r < 60 and b < 80 for r, g, b in colours), "no green ✓ rendered"
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in colours), "no red ✗ rendered"
