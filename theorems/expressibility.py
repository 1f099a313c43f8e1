"""The paper's positive expressibility claims, checked on the catalogue:
every task marked ✓ with APE has a C-RASP[periodic,local] program that agrees with its reference,
and every task marked ✓ with NoPE has a plain C-RASP program that does.

"Agrees" means: exhaustively on every input up to the length that fits CHECK_BUDGET, and on
CHECK_SAMPLES random inputs up to CHECK_SAMPLE_LEN (each verdict states its own scope)."""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

from verify.catalogue import all_cases
from verify.checking import check_case, sample_len_for
from verify.crasp.fragment import PERIODIC_LOCAL, PLAIN, fragment, in_fragment
from verify.verdict import UNKNOWN, TheoremReport, Verdict

CHECK_BUDGET = 1 << 14
CHECK_SAMPLES = 300
CHECK_SAMPLE_LEN = 120


@lru_cache(maxsize=None)
def checked(name: str) -> Verdict:
    """One bounded check per case, shared by both claims."""
    case = next(c for c in all_cases() if c.name == name)
    return check_case(case, budget=CHECK_BUDGET, samples=CHECK_SAMPLES,
                      sample_max_len=sample_len_for(case, CHECK_SAMPLE_LEN))


def _claim(target: str, label: str) -> Tuple[Verdict, ...]:
    verdicts = []
    for case in all_cases():
        wanted = case.expected_ape if target == PERIODIC_LOCAL else case.expected_nope
        if not wanted:
            continue
        claim = f"{case.name} has a {label} program that agrees with its reference"
        program = case.build_program()
        if program is None:
            verdicts.append(Verdict(UNKNOWN, claim, "catalogue lookup", "—",
                                    reason="the catalogue has no program for this task"))
            continue
        frag = fragment(program)
        if not in_fragment(program, target):
            verdicts.append(Verdict(UNKNOWN, claim, "fragment classifier", f"program in {frag}",
                                    reason=f"the catalogue's program lies in {frag}, not in {label}"))
            continue
        v = checked(case.name)
        verdicts.append(Verdict(v.status, claim, f"{v.method}; fragment {frag}", v.scope,
                                counterexample=v.counterexample, reason=v.reason, evidence=v.evidence))
    return tuple(verdicts)


def ape_programs() -> TheoremReport:
    """Tasks marked ✓ with APE have C-RASP[periodic,local] programs (the premise of Theorems 7 and 9)."""
    return TheoremReport("Expressibility (APE)", "every APE-✓ task has a C-RASP[periodic,local] program "
                         "agreeing with its reference", list(_claim(PERIODIC_LOCAL, "C-RASP[periodic,local]")))


def nope_programs() -> TheoremReport:
    """Tasks marked ✓ with NoPE have plain C-RASP programs."""
    return TheoremReport("Expressibility (NoPE)", "every NoPE-✓ task has a plain C-RASP program agreeing "
                         "with its reference", list(_claim(PLAIN, "plain C-RASP")))


CHECKS = [ape_programs, nope_programs]
