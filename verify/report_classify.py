"""`verify report` and `verify classify`: every regular task is classified, and where the decider or a
re-checked pumping certificate decides a verdict, it replaces a citation or a bounded check. What the report
uses of a classification is plain data (`classify_summary`), kept by content in the cache when every stage
finished (verify/report_memo.py), so a warm report does not classify again."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Optional

from verify.case import Case


# Regular SEQUENCE tasks whose answer is a language membership read at the separator (an end marker):
# task -> (regex over the input symbols, acceptance, the reduction in words) [recon].
SEQUENCE_AS_LANGUAGE = {
    "parity": ("(0*10*1)*0*", "end", "the answer after <sep> is membership of the input in (0*10*1)*0* "
                                     "(an even number of 1s), read at <sep> as an end marker"),
}


def _classify(case: Case):
    """`verify classify` on a regular task: (Classification, how) or None."""
    from verify.regular.classify import classify_automaton, classify_regex
    from verify.spec import Automaton
    if isinstance(case.spec, Automaton):
        how = "the task's automaton, read at the last position"
        return classify_automaton(case.spec, "last", f"case {case.name}"), how
    if case.name in SEQUENCE_AS_LANGUAGE:
        pattern, acceptance, how = SEQUENCE_AS_LANGUAGE[case.name]
        return classify_regex(pattern, case.input_alphabet or None, acceptance), how
    return None


@lru_cache(maxsize=None)
def classify_case(name: str):
    """`verify classify` on a regular catalogue task (once per process): (Classification, how) or None."""
    from verify.catalogue import get_case
    return _classify(get_case(name))


def classify_summary(case: Case, memo=None) -> Optional[Dict[str, Any]]:
    """What the report uses of `verify classify` on a regular task, as plain data (kept by content in the
    cache when every stage finished, so a warm report does not classify again), or None for other tasks."""
    from verify.spec import Automaton
    if not isinstance(case.spec, Automaton) and case.name not in SEQUENCE_AS_LANGUAGE:
        return None

    def compute() -> Dict[str, Any]:
        result, how = _classify(case)
        finding = lambda f: {"value": f.value, "rests_on": f.rests_on, "line": f.line}   # noqa: E731
        return {"crasp": finding(result.crasp), "ape": finding(result.ape), "acceptance": result.acceptance,
                "states": result.states, "classes": dict(result.classes), "via": how,
                "finished": all(stage.status != "not finished" for stage in (result.stages or {}).values())}
    if memo is None or not memo.use_cache:
        return compute()
    from verify.content_hash import content_key
    key = "classify:" + content_key(memo.render(case), SEQUENCE_AS_LANGUAGE.get(case.name),
                                    code=("verify.regular.classify",))
    return memo.get(key, compute, keep=lambda found: found["finished"])


def _upgrade_with_classify(row: Dict[str, Any], case: Case, memo=None) -> None:
    """Every regular task goes through `verify classify`: where it decides a verdict, the decider or
    the re-checked pumping certificate replaces a citation or a bounded check ("certified (decider)" /
    "certified (pumping)"; a proof keeps its kind, with the agreement added); a checked or proved program
    and a certified verdict that disagree are shown as a conflict; the agreement with the paper is
    recomputed, so a disagreement shows as NO."""
    found = classify_summary(case, memo)
    if found is None:
        row["classify"] = None
        return
    how = found["via"]
    row["classify"] = {"crasp": found["crasp"]["value"], "crasp_periodic_local": found["ape"]["value"],
                       "rests_on": {"nope": found["crasp"]["rests_on"], "ape": found["ape"]["rests_on"]},
                       "acceptance": found["acceptance"], "states": found["states"], "classes": found["classes"],
                       "via": how, "command": f"verify classify {case.name}" if case.spec is not None else
                       f"verify classify \"{SEQUENCE_AS_LANGUAGE[case.name][0]}\" --acceptance "
                       f"{SEQUENCE_AS_LANGUAGE[case.name][1]}"}
    for key, finding in (("nope", found["crasp"]), ("ape", found["ape"])):
        if finding["value"] is None:
            continue
        basis = "pumping" if finding["rests_on"] == "pumping" else "decider"
        mark = "✓" if finding["value"] else "✗"
        current = row[key]
        certified = {"verdict": mark, "kind": "certified", "short": f"certified ({basis})",
                     "evidence": f"`{row['classify']['command']}` ({how}): {finding['line']}"}
        if current["verdict"] == mark and current["kind"] == "proved":
            current["evidence"] += f"; also certified ({basis}) by `verify classify`"
        elif current["verdict"] == mark and current["kind"] == "checked":   # the decider settles every length
            row[key] = {**certified, "evidence": f"{certified['evidence']}; also {current['evidence']}"}
        elif current["verdict"] in ("✓", "✗") and current["verdict"] != mark and current["kind"] in ("checked",
                                                                                                     "proved"):
            row[key] = {"verdict": "?", "kind": "conflict", "short": f"CONFLICT: {current['kind']} "
                        f"{current['verdict']}, certified ({basis}) {mark}",
                        "evidence": f"CONFLICT — {current['evidence']} versus {certified['evidence']}",
                        "reason": f"the program is {current['kind']} {current['verdict']} while `verify classify` "
                                  f"certifies {mark}: one of them has a bug"}
        else:
            row[key] = certified
        paper = row["paper_ape" if key == "ape" else "paper_nope"]
        verdict = row[key]["verdict"]
        row[f"agrees_{key}"] = None if not paper or verdict == "?" else ((verdict == "✓") == paper["program_found"])
