"""`verify report`: the theory's predictions beside the paper's measurements, one row per task.

Each verdict carries its evidence and whether the toolkit checked it (a program that agrees
with the reference up to a stated length) or only cites it (a lemma or theorem of the paper).
Other stages add columns through optional modules `verify/<stage>/report_columns.py` that
define `columns(case) -> dict`."""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Tuple

from verify.case import Case
from verify.catalogue import all_cases, paper_results
from verify.checking import check_case, sample_len_for
from verify.crasp.fragment import PLAIN, fragment
from verify.verdict import SCHEMA_VERSION, Verdict

COLUMN_MODULES = ("verify.limit.report_columns", "verify.comm.report_columns", "verify.smt.report_columns")


@dataclass(frozen=True)
class ReportSettings:
    budget: int = 1 << 15
    samples: int = 500
    sample_max_len: Optional[int] = None
    seed: int = 0
    extra_columns: bool = True


def column_providers() -> List[Callable[[Case], Dict[str, Any]]]:
    providers = []
    for name in COLUMN_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        providers.append(module.columns)
    return providers


_CITED = re.compile(r"(Theorem \d+|Lemmas? \d+(?:\s*[–-]\s*\d+)?)")


def short_citation(text: str) -> str:
    """'Theorem 12' / 'Lemmas 35–36' out of a longer citation, for the table (JSON keeps it all)."""
    found = list(dict.fromkeys(m.group(1) for m in _CITED.finditer(text or "")))
    return ", ".join(found) if found else "the paper's label"


def _prediction(case: Case, program, verdict: Optional[Verdict], nope: bool) -> Dict[str, str]:
    """Predicted ✓/✗ (or ?) with the evidence and whether it was checked or cited."""
    if program is None:
        why = case.citation or case.no_program_reason
        return {"verdict": "✗", "evidence": f"cited: {why}", "short": f"cited: {short_citation(why)}",
                "kind": "cited"}
    if verdict is None or verdict.status != "holds":
        status = verdict.status if verdict else "not checked"
        return {"verdict": "?", "evidence": f"program {status}", "short": f"program {status}", "kind": "checked"}
    frag = fragment(program)
    if nope and frag != PLAIN:
        if case.nope_reason:
            return {"verdict": "✗", "evidence": f"cited: {case.nope_reason}",
                    "short": f"cited: {short_citation(case.nope_reason)}", "kind": "cited"}
        return {"verdict": "?", "evidence": f"only a {frag} program is known", "short": f"only {frag} known",
                "kind": "unknown"}
    ev = verdict.evidence
    short = f"checked: all ≤{ev['exhaustive_len']}, {ev['samples']} random ≤{ev['sample_lengths'][1]}"
    return {"verdict": "✓", "evidence": f"{verdict.method}; {verdict.scope}", "short": short, "kind": "checked"}


def _paper(case: Case, encoding: str) -> Dict[str, Any]:
    row = paper_results().get((case.paper_key, encoding))
    if row is None:
        return {}
    return {"program_found": row["program_found"] == "yes",
            "acc": [float(row["acc_0_50"]), float(row["acc_51_100"]), float(row["acc_101_150"])]}


def build_rows(settings: ReportSettings = ReportSettings(), progress: Optional[Callable[[], None]] = None
               ) -> List[Dict[str, Any]]:
    providers = column_providers() if settings.extra_columns else []
    rows = []
    for case in all_cases():
        program = case.build_program()
        verdict = None
        if program is not None:
            verdict = check_case(case, program, budget=settings.budget, samples=settings.samples,
                                 sample_max_len=None if settings.sample_max_len is None
                                 else sample_len_for(case, settings.sample_max_len), seed=settings.seed)
        ape = _prediction(case, program, verdict, nope=False)
        nope = _prediction(case, program, verdict, nope=True)
        paper_ape, paper_nope = _paper(case, "APE"), _paper(case, "NoPE")
        agree = []
        for pred, paper in ((ape, paper_ape), (nope, paper_nope)):
            if not paper or pred["verdict"] == "?":
                agree.append(None)
            else:
                agree.append((pred["verdict"] == "✓") == paper["program_found"])
        row = {
            "task": case.name, "family": case.family, "format": case.format,
            "program": fragment(program) if program is not None else None,
            "no_program_reason": case.no_program_reason or None,
            "check": verdict.as_dict() if verdict else None,
            "ape": ape, "nope": nope,
            "paper_ape": paper_ape, "paper_nope": paper_nope, "paper_reg": _paper(case, "APE+reg1e-4"),
            "agrees_ape": agree[0], "agrees_nope": agree[1],
            "expected_ape": case.expected_ape, "expected_nope": case.expected_nope,
        }
        extra: Dict[str, Any] = {}
        for provider in providers:
            try:
                extra.update(provider(case))
            except Exception as err:  # a broken column must not sink the report; say so in the row
                extra[f"{provider.__module__}.error"] = f"{type(err).__name__}: {err}"
        row["extra"] = extra
        _withdraw_refuted(row)
        _upgrade_with_certificate(row)
        _upgrade_with_classify(row, case)
        rows.append(row)
        if progress:
            progress()
    return rows


WITHDRAWN = "withdrawn: program refuted"
LT_COLUMNS = ("LT compiled", "LT agreed ≤", "Δ", "τ", "float64 ≤")


def _withdraw_refuted(row: Dict[str, Any]) -> None:
    """A task whose program was refuted (by the check, or by Z3's column) gets no later-stage cells built
    from that program: its compiled Limit Transformer and its protocol's bits would certify the wrong
    program. "LT compiled" (and "comm growth" when it came from the program) say WITHDRAWN; the numbers are
    blank (None). A certified lower bound does not rest on the program and stays."""
    extra = row["extra"]
    refuted = (row["check"] or {}).get("status") == "refuted" or str(extra.get("z3", "")).startswith("refuted")
    if not refuted:
        return
    for key in LT_COLUMNS:
        if key in extra:
            extra[key] = WITHDRAWN if key == "LT compiled" else None
    try:
        from verify.comm.report_columns import PROGRAM_PROTOCOL
    except ImportError:
        return
    if PROGRAM_PROTOCOL in str(extra.get("comm growth", "")):
        extra["comm growth"], extra["comm bits@64"] = WITHDRAWN, None


def _upgrade_with_certificate(row: Dict[str, Any]) -> None:
    """A cited ✗ becomes machine-checked where the communication stage certified a lower bound
    that grows linearly (Theorem 12): the certificate, not the citation, is then the evidence."""
    try:
        from verify.comm.report_columns import CERTIFIED_LINEAR, N_REPORT
    except ImportError:
        return
    extra = row["extra"]
    if row["program"] is None and extra.get("comm growth") == CERTIFIED_LINEAR:
        bits = extra.get("comm bits@64")
        for key in ("ape", "nope"):
            row[key] = {"verdict": "✗", "kind": "certified",
                        "short": f"certified: Theorem 12 (>= {bits} bits at N = {N_REPORT}, Z3)",
                        "evidence": f"Theorem 12: a Z3-checked injectivity certificate shows Alice must send "
                                    f">= {bits} bits at N = {N_REPORT}, and the bound grows linearly in N, "
                                    f"beyond any C-RASP[periodic,local] program's K*log N "
                                    f"(`verify comm-complexity {row['task']}` shows the crossing)"}
        for key in ("agrees_ape", "agrees_nope"):
            paper = row["paper_ape" if key == "agrees_ape" else "paper_nope"]
            row[key] = (not paper["program_found"]) if paper else None


# Regular SEQUENCE tasks whose answer is a language membership read at the separator (an end marker):
# task -> (regex over the input symbols, acceptance, the reduction in words) [recon].
SEQUENCE_AS_LANGUAGE = {
    "parity": ("(0*10*1)*0*", "end", "the answer after <sep> is membership of the input in (0*10*1)*0* "
                                     "(an even number of 1s), read at <sep> as an end marker"),
}


@lru_cache(maxsize=None)
def classify_case(name: str):
    """`verify classify` on a regular catalogue task (once per process): (Classification, how) or None."""
    from verify.catalogue import get_case
    from verify.regular.classify import classify_automaton, classify_regex
    from verify.spec import Automaton
    case = get_case(name)
    if isinstance(case.spec, Automaton):
        return classify_automaton(case.spec, "last", f"case {name}"), "the task's automaton, read at the last position"
    if name in SEQUENCE_AS_LANGUAGE:
        pattern, acceptance, how = SEQUENCE_AS_LANGUAGE[name]
        return classify_regex(pattern, case.input_alphabet or None, acceptance), how
    return None


def _upgrade_with_classify(row: Dict[str, Any], case: Case) -> None:
    """Every regular task goes through `verify classify`: where it decides a verdict, the decider or
    the re-checked pumping certificate replaces a citation ("certified (decider)" / "certified
    (pumping)"); a checked program and a certified verdict that disagree are shown as a conflict;
    the agreement with the paper is recomputed, so a disagreement shows as NO."""
    found = classify_case(case.name)
    if found is None:
        row["classify"] = None
        return
    result, how = found
    row["classify"] = {"crasp": result.crasp.value, "crasp_periodic_local": result.ape.value,
                       "rests_on": {"nope": result.crasp.rests_on, "ape": result.ape.rests_on},
                       "acceptance": result.acceptance, "states": result.states, "classes": result.classes,
                       "via": how, "command": f"verify classify {case.name}" if case.spec is not None else
                       f"verify classify \"{SEQUENCE_AS_LANGUAGE[case.name][0]}\" --acceptance "
                       f"{SEQUENCE_AS_LANGUAGE[case.name][1]}"}
    for key, finding in (("nope", result.crasp), ("ape", result.ape)):
        if finding.value is None:
            continue
        basis = "pumping" if finding.rests_on == "pumping" else "decider"
        mark = "✓" if finding.value else "✗"
        current = row[key]
        certified = {"verdict": mark, "kind": "certified", "short": f"certified ({basis})",
                     "evidence": f"`{row['classify']['command']}` ({how}): {finding.line}"}
        if current["verdict"] == mark and current["kind"] == "checked":
            current["evidence"] += f"; also certified ({basis}) by `verify classify`"
        elif current["verdict"] in ("✓", "✗") and current["verdict"] != mark and current["kind"] == "checked":
            row[key] = {"verdict": "?", "kind": "conflict", "short": f"CONFLICT: checked {current['verdict']}, "
                        f"certified ({basis}) {mark}",
                        "evidence": f"CONFLICT — {current['evidence']} versus {certified['evidence']}"}
        else:
            row[key] = certified
        paper = row["paper_ape" if key == "ape" else "paper_nope"]
        verdict = row[key]["verdict"]
        row[f"agrees_{key}"] = None if not paper or verdict == "?" else ((verdict == "✓") == paper["program_found"])


def _mark(flag: Optional[bool], kind: str) -> str:
    if flag is None:
        return "—"
    if not flag:
        return "[red]NO[/]"
    return "[green]yes[/]" if kind in ("checked", "certified") else "[dim]yes (cited)[/]"


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
    return "[green]yes[/]" if kind in ("checked", "certified") else "[dim]cited[/]"


# the later stages' columns a narrow terminal shows (the rest: --wide, --json, --html)
NARROW_EXTRA = ("LT agreed ≤", "Δ", "τ", "comm growth", "comm bits@64", "z3")
NARROW_HEADER = {"LT agreed ≤": "LT ≤", "comm bits@64": "bits@64"}


def render(rows: List[Dict[str, Any]], console, wide: bool = False) -> None:
    """Two tables: the verdicts beside the paper, then the columns added by later stages. Narrow
    (default) fits a 100-column terminal: marks without the accuracies and the main certificate
    columns; `wide` shows every column (about 160 columns)."""
    from rich.markup import escape
    trained = [k for k in ("ours APE", "ours NoPE") if any(k in r["extra"] for r in rows)]
    title = escape("Theory vs. paper: C-RASP[periodic,local] (APE) and plain C-RASP (NoPE)")
    cells = []
    for r in rows:
        program = r["program"] or "[dim]none[/]"
        evidence = r["ape"]["short"]
        if r["nope"]["short"] != r["ape"]["short"] and r["nope"]["kind"] in ("cited", "certified", "conflict"):
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


def summary(rows: List[Dict[str, Any]]) -> str:
    parts = []
    for enc, key in (("APE", "ape"), ("NoPE", "nope")):
        checked = [r for r in rows if r[key]["kind"] in ("checked", "certified") and r[f"agrees_{key}"] is not None]
        cited = [r for r in rows if r[key]["kind"] == "cited" and r[f"agrees_{key}"] is not None]
        parts.append(f"{enc}: {sum(r[f'agrees_{key}'] for r in checked)}/{len(checked)} checked or certified verdicts and "
                     f"{sum(r[f'agrees_{key}'] for r in cited)}/{len(cited)} cited verdicts agree with the paper")
    unknown = sum(1 for r in rows for k in ("ape", "nope") if r[k]["verdict"] == "?")
    return (f"{len(rows)} tasks. " + "; ".join(parts) + f"; {unknown} verdicts unknown. Checked = a program run "
            f"against the task's reference in the stated scope; certified = a machine-checked lower bound, "
            f"the plain C-RASP decider or a re-checked pumping certificate (`verify classify TASK`); "
            f"cited = resting on the named theorem or lemma.")


# -------------------------------------------------------------------- JSON (docs/schemas/report.schema.json)
PAPER_BINS = ("0-50", "51-100", "101-150")
# display header -> stable JSON key; a column a later stage adds without an entry here gets snake_case(header)
COLUMN_KEYS = {"LT compiled": "lt_compiled", "LT agreed ≤": "lt_agreed_up_to", "Δ": "lt_period",
               "τ": "lt_radius", "float64 ≤": "lt_float64_up_to", "comm growth": "comm_growth",
               "comm bits@64": "comm_bits_at_64", "z3": "z3", "ours APE": "ours_ape", "ours NoPE": "ours_nope"}
VERDICT_WORDS = {"✓": "yes", "✗": "no", "?": "unknown"}


def snake_case(label: str) -> str:
    """A stable JSON key for a display label: 'LT agreed ≤' -> 'lt_agreed_up_to', 'a.b error' -> 'a_b_error'."""
    text = label.replace("≤", " up to ").replace("≥", " at least ").replace("@", " at ")
    key = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return key if key and key[0].isalpha() else f"column_{key}"


def _json_prediction(pred: Dict[str, str]) -> Dict[str, str]:
    return {"verdict": VERDICT_WORDS[pred["verdict"]], "mark": pred["verdict"], "kind": pred["kind"],
            "short": pred["short"], "evidence": pred["evidence"]}


def _json_paper(paper: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    return {"program_found": paper["program_found"], "accuracy": list(paper["acc"])} if paper else None


def report_document(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What `verify report --json` prints: snake_case keys only, documented in docs/schemas/report.schema.json.
    The ✓/✗ marks survive only as `mark`, beside the words `verdict` uses."""
    tasks = []
    for r in rows:
        task = {
            "task": r["task"], "family": r["family"], "format": r["format"], "program": r["program"],
            "no_program_reason": r["no_program_reason"], "check": r["check"],
            "prediction": {"ape": _json_prediction(r["ape"]), "nope": _json_prediction(r["nope"])},
            "paper": {"ape": _json_paper(r["paper_ape"]), "nope": _json_paper(r["paper_nope"]),
                      "ape_reg": _json_paper(r["paper_reg"])},
            "agrees": {"ape": r["agrees_ape"], "nope": r["agrees_nope"]},
            "expected": {"ape": r["expected_ape"], "nope": r["expected_nope"]},
            "classify": r.get("classify"),
            "columns": {COLUMN_KEYS.get(k, snake_case(k)): v for k, v in r["extra"].items()},
        }
        if "trained" in r:
            task["trained"] = r["trained"]
        tasks.append(task)
    doc = {"schema_version": SCHEMA_VERSION, "command": "report", "paper_bins": list(PAPER_BINS),
           "summary": summary(rows), "tasks": tasks}
    if any(r.get("trained") for r in rows):   # --trained: its comparison, summed up, and its rows in one list
        from verify.trained import trained_counts, trained_summary
        doc["trained"] = {"summary": {**trained_counts(rows), "text": trained_summary(rows)},
                          "rows": [{"task": r["task"], **hit} for r in rows for hit in r.get("trained", [])]}
    return doc


# -------------------------------------------------------------------- HTML (one self-contained page)
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
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
    return "—" if flag is None else ("NO" if not flag else ("yes" if kind in ("checked", "certified") else "yes (cited)"))


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
    trained = [k for k in ("ours APE", "ours NoPE") if any(k in r["extra"] for r in rows)]
    headers = ["task", "program", "APE", "NoPE", "evidence (in full under each figure)", "paper APE", "paper NoPE",
               "agree APE / NoPE", *trained]
    cells, classes = [], []
    for r in rows:
        evidence = r["ape"]["short"]
        if r["nope"]["short"] != r["ape"]["short"] and r["nope"]["kind"] in ("cited", "certified", "conflict"):
            evidence += f"; NoPE {r['nope']['short']}"
        agree = f"{_agree_word(r['agrees_ape'], r['ape']['kind'])} / {_agree_word(r['agrees_nope'], r['nope']['kind'])}"
        cells.append([r["task"], r["program"] or "none", r["ape"]["verdict"], r["nope"]["verdict"], evidence,
                      _acc(r["paper_ape"]), _acc(r["paper_nope"]), agree, *[_short(r["extra"].get(k)) for k in trained]])
        mark = {"✓": "mark yes", "✗": "mark no", "?": "mark"}
        classes.append(["", "", mark[r["ape"]["verdict"]], mark[r["nope"]["verdict"]], "", "num", "num",
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
