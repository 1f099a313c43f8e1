"""`verify report`: the theory's predictions beside the paper's measurements, one row per task.

Each verdict carries its evidence and says how it was reached: proved (a Z3 proof that the task's
program equals its specification for every length, beside the check against the reference), certified
(a machine-checked argument: a communication lower bound, the plain C-RASP decider, a re-checked pumping
certificate), checked (the program against the reference up to a stated length, with why no proof
closed), cited (a lemma or theorem of the paper) or undecided (with the reason: nothing here settles it).
Other stages add columns through optional modules `verify/<stage>/report_columns.py` that define
`columns(case) -> dict`; the proofs fill the `z3` column (verify/smt/report_columns.py, run first by the
command). Checks and columns are kept by content in the proof cache (verify/report_memo.py) when
`ReportSettings.use_cache` is set. The tables and the HTML page: verify/report_render.py."""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from verify.case import Case
from verify.catalogue import all_cases, paper_results
from verify.checking import check_case, sample_len_for
from verify.crasp.fragment import PLAIN, fragment
from verify.report_classify import (SEQUENCE_AS_LANGUAGE, _upgrade_with_classify, classify_case,  # noqa: F401
                                    classify_summary)
from verify.verdict import SCHEMA_VERSION, Verdict

COLUMN_MODULES = ("verify.limit.report_columns", "verify.comm.report_columns", "verify.smt.report_columns")
PROOF_MODULE = "verify.smt.report_columns"   # its column is the proofs' (already cached by `prepare`)
# how a verdict was reached, strongest first (the summary counts each apart)
KINDS = ("proved", "certified", "checked", "cited", "undecided", "conflict", "unknown")


@dataclass(frozen=True)
class ReportSettings:
    budget: int = 1 << 15
    samples: int = 500
    sample_max_len: Optional[int] = None
    seed: int = 0
    extra_columns: bool = True
    use_cache: bool = False     # keep checks and columns in the proof cache (the command: unless --no-cache)


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


def _undecided(short: str, reason: str) -> Dict[str, str]:
    evidence = reason if reason.lower().startswith("undecided") else f"undecided: {reason}"
    return {"verdict": "?", "kind": "undecided", "short": f"undecided: {short}", "evidence": evidence,
            "reason": reason}


def _prediction(case: Case, program, verdict: Optional[Verdict], nope: bool) -> Dict[str, str]:
    """Predicted ✓/✗ (or ?) with the evidence and how it was reached (before the proofs and certificates)."""
    encoding = "nope" if nope else "ape"
    if program is None:
        undecided = case.extra.get(encoding) == "undecided" or (
            nope and case.extra.get("ape") == "undecided" and not case.nope_reason)
        if undecided:
            return _undecided("no program known", case.no_program_reason or "no program is known")
        why = case.citation or case.no_program_reason
        return {"verdict": "✗", "evidence": f"cited: {why}", "short": f"cited: {short_citation(why)}",
                "kind": "cited"}
    if verdict is None or verdict.status != "holds":
        status = verdict.status if verdict else "not checked"
        return {"verdict": "?", "evidence": f"program {status}", "short": f"program {status}", "kind": "unknown",
                "reason": f"the task's program is {status} against the reference"}
    frag = fragment(program)
    if nope and frag != PLAIN:
        if case.nope_reason:
            return {"verdict": "✗", "evidence": f"cited: {case.nope_reason}",
                    "short": f"cited: {short_citation(case.nope_reason)}", "kind": "cited"}
        reason = str(case.extra.get("nope_undecided") or
                     f"only a C-RASP[{frag}] program is known; no plain C-RASP program is known, and nothing "
                     f"here rules one out")
        return _undecided(f"only {frag} known", reason)
    ev = verdict.evidence
    short = f"checked: all ≤{ev['exhaustive_len']}, {ev['samples']} random ≤{ev['sample_lengths'][1]}"
    return {"verdict": "✓", "evidence": f"{verdict.method}; {verdict.scope}", "short": short, "kind": "checked"}


def _paper(case: Case, encoding: str) -> Dict[str, Any]:
    row = paper_results().get((case.paper_key, encoding))
    if row is None:
        return {}
    return {"program_found": row["program_found"] == "yes",
            "acc": [float(row["acc_0_50"]), float(row["acc_51_100"]), float(row["acc_101_150"])]}


def _check_settings(case: Case, settings: ReportSettings) -> Dict[str, Any]:
    sample_max_len = None if settings.sample_max_len is None else sample_len_for(case, settings.sample_max_len)
    return dict(budget=settings.budget, samples=settings.samples, sample_max_len=sample_max_len, seed=settings.seed)


def validate(settings: ReportSettings) -> None:
    """Refuses (UserError) settings some case's check would refuse, before anything is run: the command calls
    it ahead of the proofs, so a typo costs no proof time."""
    from verify.checking import plan
    for case in all_cases():
        if case.program is not None:
            check = _check_settings(case, settings)
            plan(case, None, check["samples"], check["sample_max_len"], check["budget"])


def build_rows(settings: ReportSettings = ReportSettings(), progress: Optional[Callable[[], None]] = None
               ) -> List[Dict[str, Any]]:
    from verify.report_memo import Memo
    providers = column_providers() if settings.extra_columns else []
    memo = Memo(settings.use_cache)
    rows = []
    try:
        for case in all_cases():
            rows.append(_row(case, settings, providers, memo))
            if progress:
                progress()
    finally:
        memo.flush()
    return rows


def _row(case: Case, settings: ReportSettings, providers, memo) -> Dict[str, Any]:
    from verify.report_memo import cached_check, cached_columns
    program = case.build_program()
    verdict = None
    if program is not None:
        check = _check_settings(case, settings)
        verdict = cached_check(memo, case, program, lambda: check_case(case, program, **check), check)
    ape = _prediction(case, program, verdict, nope=False)
    nope = _prediction(case, program, verdict, nope=True)
    paper_ape, paper_nope = _paper(case, "APE"), _paper(case, "NoPE")
    row = {
        "task": case.name, "family": case.family, "format": case.format,
        "program": fragment(program) if program is not None else None,
        "no_program_reason": case.no_program_reason or None,
        "check": verdict.as_dict() if verdict else None,
        "ape": ape, "nope": nope,
        "paper_ape": paper_ape, "paper_nope": paper_nope, "paper_reg": _paper(case, "APE+reg1e-4"),
        "expected_ape": case.expected_ape, "expected_nope": case.expected_nope,
    }
    extra: Dict[str, Any] = {}
    for provider in providers:
        try:
            extra.update(provider(case) if provider.__module__ == PROOF_MODULE else
                         cached_columns(memo, provider, case))
        except Exception as err:  # a broken column must not sink the report; say so in the row
            extra[f"{provider.__module__}.error"] = f"{type(err).__name__}: {err}"
    row["extra"] = extra
    _withdraw_refuted(row)
    _upgrade_with_proof(row)
    _upgrade_with_certificate(row)
    _upgrade_with_classify(row, case, memo)
    _agreement(row)
    return row


def _agreement(row: Dict[str, Any]) -> None:
    """Whether each prediction matches the paper's label (None: no paper row, or the prediction is ?)."""
    for key in ("ape", "nope"):
        paper, verdict = row[f"paper_{key}"], row[key]["verdict"]
        row[f"agrees_{key}"] = None if not paper or verdict == "?" else ((verdict == "✓") == paper["program_found"])


NOT_CLOSED = "proof did not close within the budget"


def _not_proved(z3: Optional[str]) -> Tuple[str, str]:
    """(the headline for the table, the reason in full): why a checked ✓ is not proved for every length."""
    from verify.smt.report_columns import NOT_RUN
    if z3 is None:
        return "not proved (--no-extra)", "proof not run (--no-extra)"
    if z3 == NOT_RUN:
        return "not proved (--no-prove)", "proof not run (--no-prove)"
    if z3 in ("no spec", "no program"):
        return "no spec to prove", "no machine-readable specification to prove it against"
    if z3.startswith("error"):
        return "proof failed", f"the proof failed ({z3})"
    return NOT_CLOSED, f"{NOT_CLOSED} (Z3: {z3})"


def _upgrade_with_proof(row: Dict[str, Any]) -> None:
    """A checked ✓ becomes proved where Z3 proved the program equal to the task's specification for every
    length; elsewhere it says "checked up to L" and why no proof closed. A Z3 refutation of a program the
    check passed is a conflict (the program, the spec or the reference is wrong), never a ✓."""
    z3 = row["extra"].get("z3")
    for key in ("ape", "nope"):
        pred = row[key]
        if pred["verdict"] != "✓" or pred["kind"] != "checked":
            continue
        if isinstance(z3, str) and z3.startswith("proved for all lengths"):
            how = z3[len("proved for all lengths"):].strip(" ()") or "k-induction"
            row[key] = {"verdict": "✓", "kind": "proved", "short": f"proved: all lengths ({how}, Z3)",
                        "evidence": f"{z3}: Z3 proves the program equal to the task's specification on every "
                                    f"input of every length (`verify prove {row['task']}`); also {pred['evidence']}"}
        elif isinstance(z3, str) and z3.startswith("refuted"):
            row[key] = {"verdict": "?", "kind": "conflict", "short": "CONFLICT: checked ✓, Z3 refuted",
                        "evidence": f"CONFLICT — {pred['evidence']} versus Z3 against the specification: {z3}",
                        "reason": f"Z3 {z3} while the check against the reference holds"}
        else:
            headline, reason = _not_proved(z3)
            longest = row["check"]["evidence"]["sample_lengths"][1]
            pred.update(short=f"checked up to {longest}: {headline}", reason=reason,
                        evidence=f"{pred['evidence']}; not proved for all lengths: {reason}")


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


def counts(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, int]]:
    """How many verdicts rest on what (KINDS), per encoding and in total."""
    out = {enc: {kind: sum(1 for r in rows if r[enc]["kind"] == kind) for kind in KINDS} for enc in ("ape", "nope")}
    out["total"] = {kind: out["ape"][kind] + out["nope"][kind] for kind in KINDS}
    return out


def summary(rows: List[Dict[str, Any]]) -> str:
    total = counts(rows)["total"]
    parts = []
    for enc, key in (("APE", "ape"), ("NoPE", "nope")):
        machine = [r for r in rows if r[key]["kind"] in ("proved", "certified", "checked")
                   and r[f"agrees_{key}"] is not None]
        cited = [r for r in rows if r[key]["kind"] == "cited" and r[f"agrees_{key}"] is not None]
        parts.append(f"{enc} {sum(r[f'agrees_{key}'] for r in machine)}/{len(machine)} proved, certified or checked"
                     + (f" and {sum(r[f'agrees_{key}'] for r in cited)}/{len(cited)} cited" if cited else ""))
    others = "".join(f", {total[k]} {k}" for k in ("conflict", "unknown") if total[k])
    return (f"{len(rows)} tasks, {2 * len(rows)} verdicts: {total['proved']} proved for all lengths, "
            f"{total['certified']} certified, {total['checked']} checked up to a length, {total['cited']} cited, "
            f"{total['undecided']} undecided{others}. Agreement with the paper's labels: " + "; ".join(parts) +
            ". Proved = Z3 proves the program equal to the task's specification for every length (and it is "
            "checked against the reference); certified = a machine-checked lower bound, the plain C-RASP decider "
            "or a re-checked pumping certificate (`verify classify TASK`); checked = the program run against "
            "the task's reference up to a length, with why no proof closed; cited = resting on the named "
            "theorem or lemma; undecided = nothing here settles it (the row says why).")


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
    out = {"verdict": VERDICT_WORDS[pred["verdict"]], "mark": pred["verdict"], "kind": pred["kind"],
           "short": pred["short"], "evidence": pred["evidence"]}
    if pred.get("reason"):
        out["reason"] = pred["reason"]
    return out


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
           "summary": summary(rows), "counts": counts(rows), "tasks": tasks}
    if any(r.get("trained") for r in rows):   # --trained: its comparison, summed up, and its rows in one list
        from verify.trained import trained_counts, trained_summary
        doc["trained"] = {"summary": {**trained_counts(rows), "text": trained_summary(rows)},
                          "rows": [{"task": r["task"], **hit} for r in rows for hit in r.get("trained", [])]}
    return doc



# the renderings live in verify/report_render.py; these names stay importable from here
from verify.report_render import (PREDICTION_MARKS, anchor, render, render_html, task_figure,  # noqa: E402
                                  task_figure_png)

__all__ = ["ReportSettings", "build_rows", "counts", "summary", "report_document", "render", "render_html",
           "task_figure", "task_figure_png", "anchor", "PREDICTION_MARKS", "short_citation", "snake_case"]
