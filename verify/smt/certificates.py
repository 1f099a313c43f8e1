"""Proof certificates: the inductive invariant of a k-induction proof, kept as SMT-LIB text, so that a later
run re-checks the proof (the invariant holds initially, is preserved by every transition, and proves the
claim by k-induction, with the base case by a bounded check to length k) instead of searching for the
invariant again: the search (bounded checks, sampling, Houdini) is most of a proof's cost.

A certificate is a hint, never a verdict: `check` re-derives the claim from the program × specification
product it is given, with the same Z3 queries `verify prove` ends with (verify/smt/induction.py), so a stale
certificate, one for another program, or a tampered one fails the check (None) and the caller proves from
scratch. The certificates shipped with the package (`SHIPPED`, written by `python -m verify.smt.certificates
--write`) let a first `verify report` re-check the catalogue's proofs in seconds instead of searching for
minutes; they are keyed by the program and specification (`key`) only to find the right one.
"""
from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import z3

from verify.smt.candidates import Candidate
from verify.smt.induction import (CERTIFICATE_TAG, InductionSettings, _reached, _symbolic, is_inductive, k_induction,
                                  prove)
from verify.smt.miter import Miter
from verify.smt.refute import Budget, refute
from verify.verdict import HOLDS, Verdict

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "proof_certificates.json"
# a declaration line as Z3 prints it; a name with characters SMT-LIB does not allow bare is quoted |like.this(|
_DECLARATION = re.compile(r"^\(declare-fun (\|[^|]*\||[^\s|()]+) \(\) (Int|Bool)\)$", re.MULTILINE)
MAX_CHECK_WORK = 200_000_000  # Z3 work (rlimit units) a check may spend before it counts as failed


def key(program, spec) -> str:
    """Which certificate belongs to this program and specification (their content, as the proof cache keys
    `verify prove`'s results)."""
    from verify.smt.report_columns import fingerprint
    return fingerprint(program, spec)


def _invariant(miter: Miter, cert: Dict[str, object]) -> Optional[Tuple[int, Candidate]]:
    """The certificate's invariant as one candidate over any state (the conjunction of its formulas, its
    variables substituted in one call: per conjunct, the substitutions cost more than the Z3 queries) and
    how many conjuncts it has; None when the text does not parse over this product's state variables."""
    S, _ = _symbolic(miter, CERTIFICATE_TAG)
    text = cert.get("smt2") if isinstance(cert, dict) else None
    if not isinstance(text, str):
        return None
    # the text's declarations must be of this product's variables, each with its sort; they are dropped and
    # the variables given to the parser instead, so that a name it does not know (or a second declaration)
    # fails to parse rather than becoming a free constant
    known = {str(t): t for t in S.values()}   # named as in the text: variable@tag
    sorts = {name: str(t.sort()) for name, t in known.items()}
    body = _DECLARATION.sub(lambda m: "" if sorts.get(m.group(1).strip("|")) == m.group(2) else m.group(0), text)
    if "(declare" in body or "(define" in body:
        return None
    try:
        formulas = list(z3.parse_smt2_string(body, decls=known))
    except z3.Z3Exception:
        return None
    names = [v.name for v in miter.vars]
    whole = z3.And(formulas) if formulas else z3.BoolVal(True)

    def over(T):
        return z3.substitute(whole, *[(S[n], T[n]) for n in names]) if names else whole

    def value(x):
        return z3.BoolVal(bool(x)) if isinstance(x, bool) else z3.IntVal(int(x))

    return len(formulas), Candidate(
        holds=over, text=f"the certificate's {len(formulas)} conjuncts",
        check=lambda vals: z3.is_true(z3.simplify(over({n: value(vals[n]) for n in names}))))


def check(miter: Miter, cert: Dict[str, object], work: int = MAX_CHECK_WORK,
          timeout_s: Optional[float] = 120.0) -> Optional[Verdict]:
    """HOLDS for every length when the certificate's invariant holds initially, is inductive, and proves the
    claim by k-induction with its base case (every word up to length k) checked; None otherwise."""
    k = cert.get("k") if isinstance(cert, dict) else None
    if not isinstance(k, int) or not 0 <= k <= 8:
        return None
    parsed = _invariant(miter, cert)
    if parsed is None:
        return None
    conjuncts, invariant = parsed[0], [parsed[1]]
    budget = Budget(work, timeout_s)
    if is_inductive(miter, invariant, budget) != z3.unsat or k_induction(miter, invariant, k, budget) != z3.unsat:
        return None
    if k:
        base = refute(miter, k, timeout_s=timeout_s)
        if base.status != HOLDS or _reached(base, 0) < k:
            return None
    return Verdict(
        HOLDS, miter.describe_claim(),
        f"{k}-induction with Z3 over the program × specification product, with an invariant of "
        f"{conjuncts} conjuncts from a proof certificate, re-checked: it holds initially and is inductive"
        + (f"; base case by bounded model checking to length {k}" if k else
           "; 0-induction: the invariant alone rules out a disagreement at every position"),
        f"every word of every length >= 1 over {{{', '.join(miter.alphabet)}}}",
        evidence={"k": k, "certificate": True, "conjuncts": conjuncts, "work": budget.used})


@lru_cache(maxsize=1)
def shipped() -> Dict[str, Dict[str, object]]:
    """The certificates shipped with the package, by key ({} when the file is missing or unreadable); read once
    per process (the report asks once per case; do not change the dict)."""
    try:
        data = json.loads(SHIPPED.read_text())
    except (OSError, ValueError):
        return {}
    return {e["key"]: e for e in data.get("cases", {}).values() if isinstance(e, dict) and "key" in e} \
        if isinstance(data, dict) else {}


def write(names: Optional[List[str]] = None, out: Path = SHIPPED) -> int:
    """Prove every catalogue case that has a program and a specification (or `names`) with `verify prove`'s
    settings and write their certificates to `out`; a case whose proof does not close is listed without
    one. Returns how many certificates were written."""
    from verify.catalogue import all_cases
    from verify.outputs import write_text
    try:   # a partial rewrite keeps the other cases' certificates
        cases: Dict[str, Dict[str, object]] = json.loads(out.read_text()).get("cases", {}) if names else {}
    except (OSError, ValueError):
        cases = {}
    for case in all_cases():
        program = case.build_program()
        if program is None or case.spec is None or (names and case.name not in names):
            continue
        miter = Miter(program, case.spec)
        v = prove(miter, InductionSettings(), keep_certificate=True)
        entry: Dict[str, object] = {"key": key(program, case.spec)}
        if v.status == HOLDS and "certificate" in v.evidence:
            entry.update(v.evidence["certificate"])
        else:
            entry["none"] = f"{v.status}: {v.reason or v.method}"[:300]
        cases[case.name] = entry
        what = f"certificate, {entry['conjuncts']} conjuncts" if "smt2" in entry else entry["none"]
        print(f"{case.name}: {what}", file=sys.stderr, flush=True)
    doc = {"about": "inductive invariants of the catalogue's proofs, re-checked by verify/smt/certificates.py "
                    "before use; written by `python -m verify.smt.certificates --write`", "cases": cases}
    write_text(out, json.dumps(doc, indent=1, sort_keys=True) + "\n", "certificates")
    return sum("smt2" in e for e in cases.values())


if __name__ == "__main__":   # python -m verify.smt.certificates --write [CASE ...]
    args = sys.argv[1:]
    if not args or args[0] != "--write":
        sys.exit("usage: python -m verify.smt.certificates --write [CASE ...]")
    print(f"{write(args[1:] or None)} certificates written to {SHIPPED}")
