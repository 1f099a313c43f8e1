"""`verify report`: the theory's predictions beside the paper's measurements, one row per task.

Each verdict carries its evidence and whether the toolkit checked it (a program that agrees
with the reference up to a stated length) or only cites it (a lemma or theorem of the paper).
Other stages add columns through optional modules `verify/<stage>/report_columns.py` that
define `columns(case) -> dict`."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from verify.case import Case
from verify.catalogue import all_cases, paper_results
from verify.checking import check_case
from verify.crasp.fragment import PLAIN, fragment
from verify.verdict import Verdict

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


def _prediction(case: Case, program, verdict: Optional[Verdict], nope: bool) -> Dict[str, str]:
    """Predicted ✓/✗ (or ?) with the evidence and whether it was checked or cited."""
    if program is None:
        why = case.citation or case.no_program_reason
        return {"verdict": "✗", "evidence": f"cited: {why}", "kind": "cited"}
    if verdict is None or verdict.status != "holds":
        status = verdict.status if verdict else "not checked"
        return {"verdict": "?", "evidence": f"program {status}", "kind": "checked"}
    frag = fragment(program)
    if nope and frag != PLAIN:
        if case.nope_reason:
            return {"verdict": "✗", "evidence": f"cited: {case.nope_reason}", "kind": "cited"}
        return {"verdict": "?", "evidence": f"only a {frag} program is known", "kind": "unknown"}
    ev = verdict.evidence
    short = f"checked ≤{ev['exhaustive_len']} all + {ev['samples']} random ≤{ev['sample_lengths'][1]}"
    return {"verdict": "✓", "evidence": short, "kind": "checked"}


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
                                 sample_max_len=settings.sample_max_len, seed=settings.seed)
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
        rows.append(row)
        if progress:
            progress()
    return rows


def _mark(flag: Optional[bool]) -> str:
    return "—" if flag is None else ("[green]yes[/]" if flag else "[red]NO[/]")


def _acc(paper: Dict[str, Any]) -> str:
    if not paper:
        return "—"
    label = "✓" if paper["program_found"] else "✗"
    return f"{label} " + "/".join(f"{a:g}" for a in paper["acc"])


def render(rows: List[Dict[str, Any]], console) -> None:
    from rich.table import Table
    extra_keys: List[str] = []
    for r in rows:
        for k in r["extra"]:
            if k not in extra_keys:
                extra_keys.append(k)
    t = Table(title="Theory vs. paper: C-RASP[periodic,local] (APE) and plain C-RASP (NoPE)",
              caption="paper columns: the authors' label, then accuracy % on lengths 0-50/51-100/101-150 "
                      "(formal languages: their own bins)", show_lines=False)
    for col in ("task", "program", "APE", "NoPE", "evidence", "paper APE", "paper NoPE", "agree", *extra_keys):
        t.add_column(col, overflow="fold")
    for r in rows:
        program = r["program"] or "[dim]none[/]"
        evidence = r["ape"]["evidence"]
        if r["nope"]["kind"] == "cited" and r["ape"]["kind"] == "checked":
            evidence += f"; NoPE {r['nope']['evidence']}"
        agree = f"{_mark(r['agrees_ape'])}/{_mark(r['agrees_nope'])}"
        t.add_row(r["task"], program, r["ape"]["verdict"], r["nope"]["verdict"], evidence,
                  _acc(r["paper_ape"]), _acc(r["paper_nope"]), agree,
                  *[str(r["extra"].get(k, "—")) for k in extra_keys])
    console.print(t)
    n = len(rows)
    agree_ape = sum(1 for r in rows if r["agrees_ape"])
    agree_nope = sum(1 for r in rows if r["agrees_nope"])
    checked = sum(1 for r in rows if r["ape"]["kind"] == "checked" and r["ape"]["verdict"] == "✓")
    console.print(f"{n} tasks; predictions agree with the paper's labels: APE {agree_ape}/{n}, NoPE {agree_nope}/{n}; "
                  f"{checked} ✓ verdicts checked by running programs, the ✗ verdicts are cited "
                  f"(later stages turn citations into certificates)")
