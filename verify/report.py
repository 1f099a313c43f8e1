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
from typing import Any, Callable, Dict, List, Optional

from verify.case import Case
from verify.catalogue import all_cases, paper_results
from verify.checking import check_case, sample_len_for
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
        _upgrade_with_certificate(row)
        _upgrade_with_classify(row, case)
        rows.append(row)
        if progress:
            progress()
    return rows


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


def render(rows: List[Dict[str, Any]], console) -> None:
    """Two tables: the verdicts beside the paper, then the columns added by later stages."""
    from rich.markup import escape
    from rich.table import Table
    t = Table(title=escape("Theory vs. paper: C-RASP[periodic,local] (APE) and plain C-RASP (NoPE)"),
              caption="paper columns: the authors' label, then accuracy % on lengths 0-50/51-100/101-150 "
                      "(formal languages: their own bins)", show_lines=False)
    trained = [k for k in ("ours APE", "ours NoPE") if any(k in r["extra"] for r in rows)]
    for col in ("task", "program", "APE", "NoPE", "evidence", "paper APE", "paper NoPE", "agree", *trained):
        t.add_column(col, overflow="fold")
    for r in rows:
        program = r["program"] or "[dim]none[/]"
        evidence = r["ape"]["short"]
        if r["nope"]["short"] != r["ape"]["short"] and r["nope"]["kind"] in ("cited", "certified", "conflict"):
            evidence += f"; NoPE {r['nope']['short']}"
        agree = f"{_mark(r['agrees_ape'], r['ape']['kind'])} / {_mark(r['agrees_nope'], r['nope']['kind'])}"
        t.add_row(r["task"], program, r["ape"]["verdict"], r["nope"]["verdict"], escape(evidence),
                  _acc(r["paper_ape"]), _acc(r["paper_nope"]), agree,
                  *[escape(_short(r["extra"].get(k))) for k in trained])
    console.print(t)
    extra_keys: List[str] = []
    for r in rows:
        for k in r["extra"]:
            if k not in extra_keys and k not in trained:
                extra_keys.append(k)
    if extra_keys:
        e = Table(title="Certificates from the later stages (Limit Transformer, communication, Z3)")
        e.add_column("task")
        for k in extra_keys:
            e.add_column(k, overflow="fold")
        for r in rows:
            e.add_row(r["task"], *[escape(_short(r["extra"].get(k))) for k in extra_keys])
        console.print(e)
    console.print(summary(rows))


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
