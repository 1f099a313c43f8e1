"""`verify report --html`: one self-contained page — parsed always, rendered in headless Chromium when
it is installed (`apt-get install chromium`; the rendering tests skip without it). The page has a table of
contents, an anchor per task (its figure card, and its row in the verdicts table, linked both ways), bin axes
labelled with their lengths and the theory's prediction marked in each figure."""
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
    """Tables as lists of rows of cell texts, the images' sources, anything that loads from outside, every
    element id and every in-page link (href="#...", with the element it sits in)."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.external, self.scripts = [], [], [], 0
        self.ids, self.links, self._open = [], [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append((a["href"][1:], [i for i in self._open if i]))
        if tag not in ("img", "br", "meta"):
            self._open.append(a.get("id"))
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
            if key in a and not a[key].startswith(("data:", "#")):
                self.external.append(a[key])

    def handle_endtag(self, tag):
        if tag not in ("img", "br", "meta") and self._open:
            self._open.pop()
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


SMALL = ("parity", "dyck1", "tomita5")    # algorithmic; formal with our runs; formal without


@pytest.fixture(scope="module")
def small_rows():
    """The report's rows for three tasks (the whole catalogue's page is the slow tests' `page`)."""
    import verify.report as report
    from verify.catalogue import get_case
    from verify.trained import add_trained
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "all_cases", lambda: [get_case(n) for n in SMALL])
        rows = report.build_rows(report.ReportSettings(budget=64, samples=5, extra_columns=False))
    add_trained(rows, TRAINED)
    return rows


def test_contents_and_anchors_link_every_task_both_ways(small_rows):
    from verify.report import render_html
    parsed = Page()
    parsed.feed(render_html(small_rows))
    assert parsed.external == [] and parsed.scripts == 0 and len(parsed.ids) == len(set(parsed.ids))
    assert not [target for target, _ in parsed.links if target not in parsed.ids]       # no broken link
    toc = [target for target, inside in parsed.links if "contents" in inside]
    assert toc == ["verdicts", "trained", "figures", *[f"task-{t}" for t in SMALL]]
    for task in SMALL:       # the verdict row's name links to the figure; the figure links back to the row
        assert (f"task-{task}", [f"verdict-{task}"]) in parsed.links
        assert (f"verdict-{task}", [f"task-{task}"]) in parsed.links
    verdicts = parsed.tables[0]
    assert [r[0] for r in verdicts[1:]] == list(SMALL)      # the link keeps the cell's text


def test_figures_label_bins_with_lengths_and_mark_the_prediction(small_rows):
    from verify.report import PREDICTION_MARKS, task_figure
    by = {r["task"]: r for r in small_rows}
    ticks = {}
    for task, row in by.items():
        ax = task_figure(row).axes[0]
        ticks[task] = ([t.get_text() for t in ax.get_xticklabels()], ax.get_xlabel())
        for key, name in (("ape", "APE"), ("nope", "NoPE")):
            mark, = [line for line in ax.get_lines() if line.get_gid() == f"prediction-{key}"]
            y, _, said = PREDICTION_MARKS[row[key]["verdict"]]
            assert list(mark.get_ydata()) == [y] and mark.get_label() == f"theory {name}: {said}", (task, key)
            assert mark.get_xdata()[0] > 2       # right of the longest bin: what the theory says of long inputs
    assert ticks["parity"] == (["0–50", "51–100", "101–150"], "input length")
    assert ticks["dyck1"][0] == ["bin 1\n(ours 0–50)", "bin 2\n(ours 51–100)", "bin 3\n(ours 101–150)"]
    assert ticks["tomita5"][0] == ["bin 1", "bin 2", "bin 3"] and "the paper's own" in ticks["tomita5"][1]
    assert PREDICTION_MARKS["✓"][0] == 100 and PREDICTION_MARKS["✗"][0] == 0


def _png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
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


def _screenshot(url: str, shot: Path, tmp_path: Path, size=(1400, 2000)):
    profile = tempfile.mkdtemp(dir=tmp_path)
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                    f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", url],
                   capture_output=True, timeout=120, check=False, env={**os.environ, "HOME": str(tmp_path)})
    assert shot.exists(), "chromium wrote no screenshot"


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_chromium_screenshot_shows_the_table(page, tmp_path):
    from PIL import Image
    shot = tmp_path / "shot.png"
    _screenshot(page.resolve().as_uri(), shot, tmp_path)
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


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_chromium_highlights_the_task_an_anchor_names(page, tmp_path):
    """Offline (a file:// page, no network): #task-NAME is that task's figure card and #verdict-NAME its row in
    the verdicts table, each drawn with the :target highlight (#fff8c5). (A window tall enough for the whole page:
    headless Chromium's --screenshot does not wait for the scroll to an anchor.)"""
    from PIL import Image

    def highlighted(fragment):
        shot = tmp_path / f"{fragment}.png"
        _screenshot(page.resolve().as_uri() + "#" + fragment, shot, tmp_path, size=(1400, 12000))
        img = Image.open(shot).convert("RGB")
        px = img.load()
        spots = [(x, y) for y in range(0, img.size[1], 2) for x in range(0, img.size[0], 2)
                 if px[x, y] == (0xff, 0xf8, 0xc5)]
        assert spots, f"nothing highlighted for #{fragment}"
        xs, ys = [x for x, _ in spots], [y for _, y in spots]
        return (min(xs), min(ys), max(xs), max(ys)), px

    (left, top, right, bottom), px = highlighted("task-tomita5")
    assert 200 < bottom - top < 600 and 250 < right - left < 400          # one card, about 330 px wide
    card = {px[x, y] for y in range(top, bottom, 2) for x in range(left, right, 2)}
    assert any(abs(r - 0x1f) < 30 and abs(g - 0x77) < 30 and abs(b - 0xb4) < 30 for r, g, b in card), \
        "no figure (APE's blue) inside the highlighted card"
    (left, top, right, bottom), _ = highlighted("verdict-tomita5")
    assert bottom - top < 60 and right - left > 600                        # one row of the verdicts table
