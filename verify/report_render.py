"""`verify report`'s renderings: the terminal tables (rich) and the self-contained HTML page.

The rows come from verify/report.py (`build_rows`); nothing here computes a verdict."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

MACHINE_CHECKED = ("proved", "certified", "checked")   # the kinds that rest on a run here, not on a citation
SHOWN_NOPE = ("cited", "certified", "conflict", "undecided")   # a NoPE verdict shown beside the APE evidence


def _mark(flag: Optional[bool], kind: str) -> str:
    if flag is None:
        return "—"
    if not flag:
        return "[red]NO[/]"
    return "[green]yes[/]" if kind in MACHINE_CHECKED else "[dim]yes (cited)[/]"


def _acc(paper: Dict[str, Any]) -> str:
    if not paper:
        return "—"
    label = "✓" if paper["program_found"] else "✗"
    return f"{label} " + "/".join(f"{a:g}" for a in paper["acc"])


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 100_000:
        return f"{value:.1e}"
    return str(value)


_NUMBERISH = re.compile(r"\d")


def _column(table, header: str, cells: List[str], wrap: bool = True) -> None:
    """A column whose cells never break inside a number: wrapping happens at spaces, and the column
    is at least as wide as its longest token with a digit (rich folds only tokens wider than it)."""
    from rich.text import Text
    tokens = [w for c in cells for w in Text.from_markup(c).plain.split() if _NUMBERISH.search(w)]
    widest = max([len(w) for w in tokens] + [1])
    if wrap:
        table.add_column(header, overflow="fold", min_width=widest)
    else:
        table.add_column(header, no_wrap=True)


def _table(title: str, headers: List[str], cells: List[List[str]], wrap: set, caption: Optional[str] = None):
    from rich.table import Table
    t = Table(title=title, caption=caption, show_lines=False)
    for k, h in enumerate(headers):
        _column(t, h, [row[k] for row in cells], wrap=h in wrap)
    for row in cells:
        t.add_row(*row)
    return t


def _agree_short(flag: Optional[bool], kind: str) -> str:
    if flag is None:
        return "—"
    if not flag:
        return "[red]NO[/]"
    return "[green]yes[/]" if kind in MACHINE_CHECKED else "[dim]cited[/]"


# the later stages' columns a narrow terminal shows (the rest: --wide, --json, --html)
NARROW_EXTRA = ("LT agreed ≤", "Δ", "τ", "comm growth", "comm bits@64", "z3")
NARROW_HEADER = {"LT agreed ≤": "LT ≤", "comm bits@64": "bits@64"}


def render(rows: List[Dict[str, Any]], console, wide: bool = False) -> None:
    """Two tables: the verdicts beside the paper, then the columns added by later stages. Narrow
    (default) fits a 100-column terminal: marks without the accuracies and the main certificate
    columns; `wide` shows every column (about 160 columns)."""
    from rich.markup import escape

    from verify.report import summary
    trained = [k for k in ("ours APE", "ours NoPE") if any(k in r["extra"] for r in rows)]
    title = escape("Theory vs. paper: C-RASP[periodic,local] (APE) and plain C-RASP (NoPE)")
    cells = []
    for r in rows:
        program = r["program"] or "[dim]none[/]"
        evidence = r["ape"]["short"]
        if r["nope"]["short"] != r["ape"]["short"] and r["nope"]["kind"] in SHOWN_NOPE:
            evidence += f"; NoPE {r['nope']['short']}"
        if wide:
            agree = f"{_mark(r['agrees_ape'], r['ape']['kind'])} / {_mark(r['agrees_nope'], r['nope']['kind'])}"
            cells.append([r["task"], program, r["ape"]["verdict"], r["nope"]["verdict"], escape(evidence),
                          _acc(r["paper_ape"]), _acc(r["paper_nope"]), agree,
                          *[escape(_short(r["extra"].get(k))) for k in trained]])
        else:
            paper = " ".join(("✓" if p["program_found"] else "✗") if p else "—"
                             for p in (r["paper_ape"], r["paper_nope"]))
            agree = f"{_agree_short(r['agrees_ape'], r['ape']['kind'])}/" \
                    f"{_agree_short(r['agrees_nope'], r['nope']['kind'])}"
            cells.append([r["task"], program, f"{r['ape']['verdict']} {r['nope']['verdict']}", paper, agree,
                          escape(evidence)])
    if wide:
        headers = ["task", "program", "APE", "NoPE", "evidence", "paper APE", "paper NoPE", "agree", *trained]
        caption = ("paper columns: the authors' label, then accuracy % on lengths 0-50/51-100/101-150 "
                   "(formal languages: their own bins)")
    else:
        headers = ["task", "program", "theory", "paper", "agree", "evidence"]
        caption = ("theory, paper: APE then NoPE (✓ a program exists / ✗ none); agree: APE/NoPE. "
                   "--wide adds the paper's accuracies, --html a page with figures")
    console.print(_table(title, headers, cells, {"evidence", *trained}, caption))
    extra_keys: List[str] = []
    for r in rows:
        for k in r["extra"]:
            if k not in extra_keys and k not in trained and (wide or k in NARROW_EXTRA):
                extra_keys.append(k)
    if extra_keys:
        cells = [[r["task"], *[escape(_short(r["extra"].get(k))) for k in extra_keys]] for r in rows]
        headers = [k if wide else NARROW_HEADER.get(k, k) for k in extra_keys]
        console.print(_table("Certificates from the later stages (Limit Transformer, communication, Z3)",
                             ["task", *headers], cells, {"LT compiled", "comm growth", "z3"}))
    console.print(summary(rows))
    if any(r.get("trained") for r in rows):
        from verify.trained import TRAINED_HEADERS, TRAINED_WRAP, trained_cells, trained_summary
        console.print(_table("Our trained runs (--trained) against the theory and the paper", TRAINED_HEADERS,
                             [[escape(c) for c in row] for row in trained_cells(rows)], TRAINED_WRAP))
        console.print(escape(trained_summary(rows)))



# -------------------------------------------------------------------- HTML (one self-contained page)
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}td.ev{min-width:24em}
th{background:#f3f4f6}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
td.yes{color:#116329}td.no{color:#b42318;font-weight:bold}td.mark{text-align:center;white-space:nowrap}
.caption{color:#57606a;font-size:12px;max-width:1100px}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:6px;width:330px}
.card h3{font-size:14px;margin:2px 0 4px}.card img{width:320px;height:auto}
.evidence{font-size:11px;color:#3d444d;margin:4px 0 0;overflow-wrap:anywhere}
nav.toc{font-size:13px;border:1px solid #d0d7de;border-radius:6px;padding:4px 12px;max-width:1100px}
nav.toc h2{font-size:1em;margin:6px 0}nav.toc .tasks{line-height:1.7}
a{color:#0969da}tr:target td,.card:target{background:#fff8c5}
"""


def _bins_label(row: Dict[str, Any]) -> Tuple[List[str], str]:
    """(the x tick labels, the x axis label) of a task's figure: the input lengths of each bin. The paper's
    algorithmic bins are 0–50 / 51–100 / 101–150; for a formal language its table gives its own bins without
    their lengths, so they are numbered, with the lengths of our runs (--trained) where we have them."""
    from verify.report import PAPER_BINS
    if row["family"] == "algorithmic":
        return [b.replace("-", "–") for b in PAPER_BINS], "input length"
    ours = next((hit.get("bins") for hit in row.get("trained", []) if len(hit.get("bins") or []) == 3), None)
    if ours:
        return ([f"bin {i}\n(ours {lo}–{hi})" for i, (lo, hi) in enumerate(ours, 1)],
                "length bin (the paper's own; ours in brackets)")
    return ["bin 1", "bin 2", "bin 3"], "length bin (the paper's own for this language)"


# the theory's prediction, drawn right of the last bin: where the accuracy on long inputs should end up
PREDICTION_MARKS = {"✓": (100, "^", "generalizes"), "✗": (0, "v", "does not generalize"), "?": (50, "D", "unknown")}


def task_figure(row: Dict[str, Any]):
    """The paper's accuracy per length bin (APE, NoPE, APE+reg) and, with --trained, ours; the theory's
    prediction as a marker per encoding right of the longest bin (gid `prediction-ape` / `prediction-nope`) and
    in the title. Agg canvas only: pyplot's global state is never touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4.0, 2.6), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = [0, 1, 2]
    styles = (("paper_ape", "paper APE", "#1f77b4", "-"), ("paper_nope", "paper NoPE", "#ff7f0e", "-"),
              ("paper_reg", "paper APE+reg", "#2ca02c", "--"))
    for key, label, color, ls in styles:
        if row.get(key):
            ax.plot(xs, row[key]["acc"], ls, marker="o", color=color, label=label)
    for hit in row.get("trained", []):
        keys = [k for k in hit if k.startswith("acc_")]
        if not keys:      # a row listed without runs (not run: needs a GPU)
            continue
        color = "#1f77b4" if hit["encoding"] == "APE" else "#ff7f0e"
        bins = "/".join(f"{a}-{b}" for a, b in hit.get("bins", [])) or "?"
        label = f"ours {hit['encoding']}" + ("" if row["family"] == "algorithmic" else f" ({bins})")
        spread = hit.get("spread") or {}
        ax.errorbar(list(range(len(keys))), [hit[k] for k in keys], yerr=[spread.get(k, 0.0) for k in keys],
                    fmt=":s", color=color, capsize=2, label=label + ("" if hit.get("train_fit", True) else ", not fitted"))
    for key, name, color, x in (("ape", "APE", "#1f77b4", 2.3), ("nope", "NoPE", "#ff7f0e", 2.45)):
        y, marker, said = PREDICTION_MARKS[row[key]["verdict"]]
        ax.plot([x], [y], marker=marker, markersize=7, color=color, markeredgecolor="#1b1f24", linestyle="none",
                label=f"theory {name}: {said}", gid=f"prediction-{key}", clip_on=False)
    ticks, axis = _bins_label(row)
    ax.set_xticks(xs, ticks, fontsize=7)
    ax.set_xlim(-0.3, 2.6)
    ax.set_ylim(-5, 105)
    ax.set_ylabel("accuracy %")
    ax.set_xlabel(axis, fontsize=8)
    words = {"✓": "yes", "✗": "no", "?": "?"}
    ax.set_title(f"{row['task']} — theory: APE {words[row['ape']['verdict']]}, NoPE {words[row['nope']['verdict']]}",
                 fontsize=9)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, loc="best", framealpha=0.6)
    fig.subplots_adjust(left=0.14, right=0.93, top=0.88, bottom=0.26)  # fixed: tight_layout costs ~0.1 s a figure
    return fig


def task_figure_png(row: Dict[str, Any]) -> bytes:
    import io
    buf = io.BytesIO()
    task_figure(row).savefig(buf, format="png")
    return buf.getvalue()


def anchor(task: str, where: str = "task") -> str:
    """The id of a task's figure card (`task-NAME`) or of its row in the verdicts table (`verdict-NAME`)."""
    from html import escape
    return escape(f"{where}-{task}", quote=True)


def _html_table(headers: List[str], cells: List[List[Any]], classes: Optional[List[List[str]]] = None,
                linked: bool = False) -> str:
    """linked: each row is a task's verdict row (id verdict-NAME) whose first cell links to its figure."""
    from html import escape
    out = ["<table><thead><tr>", *[f"<th>{escape(h)}</th>" for h in headers], "</tr></thead><tbody>"]
    for i, row in enumerate(cells):
        out.append(f"<tr id=\"{anchor(row[0], 'verdict')}\">" if linked else "<tr>")
        for j, c in enumerate(row):
            cls = classes[i][j] if classes else ""
            text = escape(str(c))
            if linked and j == 0:
                text = f"<a href=\"#{anchor(row[0])}\" title=\"its figure\">{text}</a>"
            out.append(f"<td class=\"{cls}\">{text}</td>" if cls else f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _agree_word(flag: Optional[bool], kind: str) -> str:
    return "—" if flag is None else ("NO" if not flag else ("yes" if kind in MACHINE_CHECKED else "yes (cited)"))


_SECTIONS = {"verdicts": "Verdicts",
             "certificates": "Certificates from the later stages (Limit Transformer, communication, Z3)",
             "trained": "Our trained runs against the theory and the paper", "figures": "Accuracy by length bin against the theory"}


def _contents(rows: List[Dict[str, Any]], certificates: bool, trained: bool) -> str:
    """The table of contents: the sections, and every task's figure."""
    from html import escape
    shown = ["verdicts", *(["certificates"] if certificates else []), *(["trained"] if trained else []), "figures"]
    items = [f"<li><a href=\"#{key}\">{escape(_SECTIONS[key])}</a></li>" for key in shown]
    tasks = " · ".join(f"<a href=\"#{anchor(r['task'])}\">{escape(r['task'])}</a>" for r in rows)
    return (f"<nav class=\"toc\" id=\"contents\" aria-label=\"Contents\"><h2>Contents</h2><ol>{''.join(items)}</ol>"
            f"<p class=\"tasks\">Figures: {tasks}</p></nav>")


def render_html(rows: List[Dict[str, Any]]) -> str:
    """One self-contained page: inline CSS, every figure an embedded base64 PNG, no scripts."""
    import base64
    from html import escape

    from verify.report import summary
    trained = [k for k in ("ours APE", "ours NoPE") if any(k in r["extra"] for r in rows)]
    headers = ["task", "program", "APE", "NoPE", "evidence (in full under each figure)", "paper APE", "paper NoPE",
               "agree APE / NoPE", *trained]
    cells, classes = [], []
    for r in rows:
        evidence = r["ape"]["short"]
        if r["nope"]["short"] != r["ape"]["short"] and r["nope"]["kind"] in SHOWN_NOPE:
            evidence += f"; NoPE {r['nope']['short']}"
        agree = f"{_agree_word(r['agrees_ape'], r['ape']['kind'])} / {_agree_word(r['agrees_nope'], r['nope']['kind'])}"
        cells.append([r["task"], r["program"] or "none", r["ape"]["verdict"], r["nope"]["verdict"], evidence,
                      _acc(r["paper_ape"]), _acc(r["paper_nope"]), agree, *[_short(r["extra"].get(k)) for k in trained]])
        mark = {"✓": "mark yes", "✗": "mark no", "?": "mark"}
        classes.append(["", "", mark[r["ape"]["verdict"]], mark[r["nope"]["verdict"]], "ev", "num", "num",
                        "no num" if False in (r["agrees_ape"], r["agrees_nope"]) else "num", *["num"] * len(trained)])
    extra_keys: List[str] = []
    for r in rows:
        for k in r["extra"]:
            if k not in extra_keys and k not in trained:
                extra_keys.append(k)
    cards = []
    for r in rows:
        png = base64.b64encode(task_figure_png(r)).decode("ascii")
        full = escape(r["ape"]["evidence"]) if r["nope"]["evidence"] == r["ape"]["evidence"] else \
            f"APE: {escape(r['ape']['evidence'])}<br>NoPE: {escape(r['nope']['evidence'])}"
        cards.append(f"<div class=\"card\" id=\"{anchor(r['task'])}\"><h3>{escape(r['task'])} "
                     f"<a href=\"#{anchor(r['task'], 'verdict')}\" title=\"its row in the verdicts table\">↑ verdict</a>"
                     f"</h3><img alt=\"{escape(r['task'])}: paper accuracy by length bin against the theory\" "
                     f"src=\"data:image/png;base64,{png}\"><p class=\"evidence\">{full}</p></div>")
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>lengthgen-verify report</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>Theory vs. paper: C-RASP[periodic,local] (APE) and plain C-RASP (NoPE)</h1>",
        f"<p class=\"caption\">{escape(summary(rows))}</p>",
        _contents(rows, bool(extra_keys), any(r.get("trained") for r in rows)),
        "<h2 id=\"verdicts\">Verdicts</h2>",
        "<p class=\"caption\">✓ a program exists (the task length-generalizes), ✗ none; paper columns: the authors' "
        "label, then accuracy % on lengths 0-50/51-100/101-150 (formal languages: their own bins). A task's name "
        "links to its figure.</p>",
        _html_table(headers, cells, classes, linked=True),
    ]
    if extra_keys:
        parts += [f"<h2 id=\"certificates\">{_SECTIONS['certificates']}</h2>",
                  _html_table(["task", *extra_keys],
                              [[r["task"], *[_short(r["extra"].get(k)) for k in extra_keys]] for r in rows],
                              [[""] + ["num"] * len(extra_keys) for _ in rows])]
    if any(r.get("trained") for r in rows):
        from verify.trained import TRAINED_HEADERS, trained_cells, trained_classes, trained_summary
        tcells = trained_cells(rows)
        parts += [f"<h2 id=\"trained\">{_SECTIONS['trained']}</h2>",
                  *(f"<p class=\"caption\">{escape(line)}</p>" for line in trained_summary(rows).splitlines()),
                  _html_table(TRAINED_HEADERS, tcells, trained_classes(tcells))]
    parts += [f"<h2 id=\"figures\">{_SECTIONS['figures']}</h2>",
              "<p class=\"caption\">Solid: the paper's accuracies (APE, NoPE; dashed: APE with its regularizer); "
              "dotted: our own runs (--trained). Right of the longest bin, the theory's prediction for long inputs "
              "(▲ generalizes: near 100%, ▼ does not, ◆ unknown; blue APE, orange NoPE), also in the title.</p>",
              f"<div class=\"grid\">{''.join(cards)}</div>", "</body></html>\n"]
    return "\n".join(parts)
