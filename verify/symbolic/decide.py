"""Decide PERIODIC, translation invariance of f(i, j) = p_iᵀ A p_j, and locality, for a Family.

Every answer is a `Decision` with a status (holds / fails / unknown), the value (period, radius),
the reason in words, and a witness where one refutes the property. Methods:
- PERIODIC: one-hot tables by construction (least period by distinct residues); trigonometric vectors by
  the frequencies ω: a period exists iff every ω/2π is rational, Δ = lcm of their denominators,
  minimized over divisors by exact evaluation; ω/2π irrational (sympy, or ω algebraic ≠ 0, as π is
  transcendental) proves no period exists.
- translation invariance: symbolic simplification of f(i+t, j+t) − f(i, j); else the exponential
  decomposition f = Σ c·e^{I(a·i + b·j)} (invariant iff every a + b ∈ 2πZ), with a numeric witness
  (50 digits) for a failure; periodic tables by the circulant test on one period (exact).
- locality: g(k) = f(k, 0) for invariant f. Periodic g: local iff g vanishes on a whole period.
  Exponential polynomials with r terms cannot vanish on r consecutive integers unless identically zero
  (Vandermonde), so a nonzero one has unbounded support. Windowed biases: the window.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Dict, List, Optional, Tuple

import sympy as sp

from verify.symbolic.families import I, J, T, Family

HOLDS, FAILS, UNKNOWN = "holds", "fails", "unknown"


@dataclass(frozen=True)
class Decision:
    property: str
    status: str
    value: Optional[object]
    reason: str
    witness: Optional[Dict[str, object]] = None

    def as_dict(self):
        return {"property": self.property, "status": self.status,
                "value": None if self.value is None else str(self.value), "reason": self.reason,
                "witness": None if self.witness is None else {k: str(v) for k, v in self.witness.items()}}


@dataclass(frozen=True)
class FamilyConditions:
    family: str
    params: Dict[str, str]
    periodic: Decision
    translation_invariant: Decision
    local: Decision
    product: str = ""

    def as_dict(self):
        return {"family": self.family, "params": self.params, "product": self.product,
                "periodic": self.periodic.as_dict(), "translation_invariant": self.translation_invariant.as_dict(),
                "local": self.local.as_dict()}


# ------------------------------------------------------------------ PERIODIC
def _frequencies(exprs: List[sp.Expr]) -> Optional[List[sp.Expr]]:
    """The ω of every sin/cos(ω·i + φ) in the vectors, or None if i appears any other way."""
    out: List[sp.Expr] = []
    for e in exprs:
        trig = [a for a in e.atoms(sp.sin, sp.cos) if a.has(I)]
        for a in trig:
            arg = sp.expand(a.args[0])
            w = arg.coeff(I)
            if (arg - w * I).has(I) or w.has(I):
                return None
            out.append(w)
        signs = [a for a in e.atoms(sp.Pow) if a.base == -1 and a.exp.has(I)]
        for a in signs:   # sympy writes cos(π·i) as (−1)**i: frequency π·(coefficient)
            ex = sp.expand(a.exp)
            c = ex.coeff(I)
            if (ex - c * I).has(I):
                return None
            out.append(sp.pi * c)
        stripped = e.subs({a: sp.Dummy() for a in trig + signs})
        if stripped.has(I):
            return None
    return out


def _rational_turns(w: sp.Expr) -> Tuple[Optional[sp.Rational], str]:
    """w/2π as a rational, or (None, why it is irrational / unknown)."""
    r = sp.nsimplify(sp.simplify(w / (2 * sp.pi)))
    if r.is_rational:
        return sp.Rational(r), ""
    if r.is_rational is False:
        return None, f"ω = {w}: ω/2π = {r} is irrational (sympy)"
    if w.is_algebraic and w.is_nonzero:
        return None, f"ω = {w} is algebraic and nonzero, so ω/2π is irrational (π is transcendental)"
    return None, "unknown"


def _lcm(a: int, b: int) -> int:
    return a * b // gcd(a, b)


def _vector_at(family: Family, i: int) -> List[sp.Expr]:
    return [sp.nsimplify(sp.simplify(e.subs(I, i))) for e in family.vectors]


def decide_periodic(family: Family) -> Decision:
    if family.vectors is None:
        return Decision("PERIODIC", HOLDS, 1, "the family has no position vectors (p_i = 0 for every i); positions "
                                              "enter only through the bias φ, which LOCAL judges")
    if family.period_hint is not None:
        d = family.period_hint
        return Decision("PERIODIC", HOLDS, d, f"p_i depends only on i mod {d} (Mod(i + {d}, {d}) = Mod(i, {d})); "
                                              f"the least period is {d} because the {d} residues give {d} distinct "
                                              f"one-hot vectors")
    freqs = _frequencies(family.vectors)
    if freqs is None:
        return Decision("PERIODIC", UNKNOWN, None, "the vectors use i outside sin/cos(ω·i + φ); no decision procedure")
    nonzero = [w for w in freqs if not sp.simplify(w) == 0]
    if not nonzero:
        return Decision("PERIODIC", HOLDS, 1, "no coordinate depends on i")
    delta = 1
    for w in nonzero:
        r, why = _rational_turns(w)
        if r is None and why != "unknown":
            return Decision("PERIODIC", FAILS, None,
                            f"{why}; a coordinate sin/cos(ω·i + φ) with p_(i+Δ) = p_i for all i forces ωΔ ∈ 2πZ, "
                            f"i.e. ω/2π = m/Δ rational — so no period Δ exists", {"frequency": w})
        if r is None:
            return Decision("PERIODIC", UNKNOWN, None, f"sympy cannot decide whether {w}/2π is rational")
        delta = _lcm(delta, int(r.q))
    if delta > 5000:
        return Decision("PERIODIC", HOLDS, delta, f"every ω/2π is rational; Δ = lcm of their denominators = {delta} "
                                                  f"is a period (minimality not checked above 5000)")
    table = [_vector_at(family, i) for i in range(delta)]
    for D in sorted(x for x in range(1, delta + 1) if delta % x == 0):
        if all(sp.simplify(a - b) == 0 for i in range(delta) for a, b in zip(table[(i + D) % delta], table[i])):
            return Decision("PERIODIC", HOLDS, D,
                            f"every ω/2π is rational ({', '.join(str(sp.nsimplify(w / (2 * sp.pi))) for w in nonzero)}),"
                            f" so Δ = lcm of denominators = {delta} is a period; the least period, by exact evaluation "
                            f"over one period, is {D}")
    return Decision("PERIODIC", HOLDS, delta, f"Δ = {delta} is a period")  # pragma: no cover


# ------------------------------------------------------------------ translation invariance
def _exp_terms(f: sp.Expr) -> Optional[Dict[Tuple[sp.Expr, sp.Expr], sp.Expr]]:
    """f = Σ c·e^{I(a i + b j)} -> {(a, b): c}, or None if f is not of this form."""
    e = sp.expand(sp.powsimp(sp.expand(f.rewrite(sp.exp))))
    terms: Dict[Tuple[sp.Expr, sp.Expr], sp.Expr] = {}
    for term in sp.Add.make_args(e):
        c, rest = term.as_independent(I, J, as_Add=False)
        arg = sp.Integer(0)
        for factor in sp.Mul.make_args(rest):
            base, ex = factor.as_base_exp()
            if factor.func == sp.exp:
                arg += factor.args[0]
            elif base == -1 and ex.has(I, J):
                arg += sp.I * sp.pi * ex
            elif base == sp.E:
                arg += ex
            elif factor.has(I, J):
                return None
            else:
                c *= factor
        arg = sp.expand(arg / sp.I)
        a, b = arg.coeff(I), arg.coeff(J)
        if sp.expand(arg - a * I - b * J).has(I, J):
            return None
        key = (sp.nsimplify(a), sp.nsimplify(b))
        terms[key] = terms.get(key, 0) + c
    return {k: sp.simplify(v) for k, v in terms.items() if sp.simplify(v) != 0}


def _numeric_witness(f: sp.Expr, search: int = 6):
    for i in range(search):
        for j in range(i + 1):
            for t in range(1, search):
                a = sp.N(f.subs({I: i, J: j}), 50)
                b = sp.N(f.subs({I: i + t, J: j + t}), 50)
                if abs(sp.N(a - b, 50)) > sp.Float("1e-30"):
                    return {"i": i, "j": j, "t": t, "f(i,j)": sp.N(a, 12), "f(i+t,j+t)": sp.N(b, 12)}
    return None


def decide_translation(family: Family, periodic: Optional[Decision] = None) -> Decision:
    f = family.product()
    periodic = periodic or decide_periodic(family)
    if family.vectors is not None and periodic.status == HOLDS and isinstance(periodic.value, int) \
            and periodic.value <= 512:
        d = periodic.value
        F = [[sp.nsimplify(sp.simplify(f.subs({I: a, J: b}))) for b in range(d)] for a in range(d)]
        for a in range(d):
            for b in range(d):
                if sp.simplify(F[(a + 1) % d][(b + 1) % d] - F[a][b]) != 0:
                    return Decision("translation invariance", FAILS, None,
                                    f"p has period {d}, so f(i, j) is a {d}×{d} table over (i mod {d}, j mod {d}); "
                                    f"it is not circulant", {"i": a, "j": b, "t": 1, "f(i,j)": F[a][b],
                                                              "f(i+t,j+t)": F[(a + 1) % d][(b + 1) % d]})
        return Decision("translation invariance", HOLDS, None,
                        f"p has period {d}, so f(i, j) = F[i mod {d}, j mod {d}]; F is circulant (checked exactly on "
                        f"all {d * d} entries), hence f(i+t, j+t) = f(i, j)")
    if not f.has(sp.Piecewise) or family.vectors is None:
        diff = sp.simplify(f.subs({I: I + T, J: J + T}, simultaneous=True) - f)
        if diff == 0:
            return Decision("translation invariance", HOLDS, None,
                            f"f(i+t, j+t) − f(i, j) simplifies to 0 for f(i, j) = {f}: it depends on i − j only")
    terms = _exp_terms(f)
    if terms is not None:
        bad = [(a, b) for (a, b) in terms if not sp.simplify((a + b) / (2 * sp.pi)).is_integer]
        if not bad:
            return Decision("translation invariance", HOLDS, None,
                            "f = Σ c·exp(I(a·i + b·j)) with a + b ∈ 2πZ in every term, so each term depends on "
                            "i − j only (on integers)")
        witness = _numeric_witness(f)
        if witness is not None:
            return Decision("translation invariance", FAILS, None,
                            f"f has terms exp(I(a·i + b·j)) with a + b ∉ 2πZ, e.g. (a, b) = {bad[0]}; "
                            f"numeric witness (50 digits)", witness)
    witness = _numeric_witness(f)
    if witness is not None:
        return Decision("translation invariance", FAILS, None, "numeric witness (50 digits)", witness)
    return Decision("translation invariance", UNKNOWN, None,
                    "neither simplification nor the exponential decomposition decides it, and no witness was found")


# ------------------------------------------------------------------ LOCAL
def decide_local(family: Family, translation: Optional[Decision] = None,
                 periodic: Optional[Decision] = None) -> Decision:
    translation = translation or decide_translation(family)
    if translation.status == FAILS:
        return Decision("LOCAL", FAILS, None, "LOCAL needs φ to depend on i − j only, and translation invariance fails",
                        translation.witness)
    if translation.status == UNKNOWN:
        return Decision("LOCAL", UNKNOWN, None, "translation invariance is undecided")
    f = family.product()
    g = sp.simplify(f.subs({I: sp.Symbol("k", integer=True, nonnegative=True), J: 0}))
    k = sp.Symbol("k", integer=True, nonnegative=True)
    if family.vectors is None:
        if family.window is not None:
            w = family.window
            nonzero = [x for x in range(w + 1) if sp.simplify(g.subs(k, x)) != 0]
            if not nonzero:
                return Decision("LOCAL", HOLDS, 0, "the bias is 0 at every offset")
            return Decision("LOCAL", HOLDS, max(nonzero),
                            f"g(k) = {g} is 0 for k > {w} (the window); its largest nonzero offset is {max(nonzero)}")
        if sp.simplify(g) == 0:
            return Decision("LOCAL", HOLDS, 0, "the bias is identically 0")
        poly = sp.Poly(g, k) if g.is_polynomial(k) else None
        if poly is not None:
            return Decision("LOCAL", FAILS, None,
                            f"g(k) = {g} is a nonzero polynomial, so it has finitely many roots: nonzero at every "
                            f"large k — no radius τ", {"k": 10 ** 6, "g(k)": g.subs(k, 10 ** 6)})
        return Decision("LOCAL", UNKNOWN, None, f"cannot decide the support of g(k) = {g}")
    periodic = periodic or decide_periodic(family)
    if periodic.status == HOLDS and isinstance(periodic.value, int) and periodic.value <= 5000:
        d = periodic.value
        vals = [sp.simplify(g.subs(k, x)) for x in range(d)]
        nonzero = [x for x, v in enumerate(vals) if v != 0]
        if not nonzero:
            return Decision("LOCAL", HOLDS, 0, f"g(k) = f(k, 0) is periodic with period {d} and vanishes on a whole "
                                               f"period: identically 0")
        k0 = nonzero[0]
        return Decision("LOCAL", FAILS, None,
                        f"g(k) = f(k, 0) is periodic with period {d} and g({k0}) = {vals[k0]} ≠ 0, so g(k0 + m·{d}) ≠ 0 "
                        f"for every m: the support is unbounded", {"k": k0 + 1000 * d, "g(k)": vals[k0]})
    terms = _exp_terms(g.subs(k, I))
    if terms is not None:
        r = len(terms)
        if r == 0:
            return Decision("LOCAL", HOLDS, 0, "g(k) = f(k, 0) is identically 0")
        for x in range(2 * r + 2):
            v = sp.N(g.subs(k, x), 50)
            if abs(v) > sp.Float("1e-30"):
                return Decision("LOCAL", FAILS, None,
                                f"g(k) = f(k, 0) is an exponential polynomial with {r} term(s), nonzero at k = {x} "
                                f"({sp.N(v, 12)}); one with r terms that vanished on r consecutive integers would be "
                                f"identically 0 (Vandermonde), so every window of {r} offsets beyond any τ has a "
                                f"nonzero value: the support is unbounded", {"k": x, "g(k)": sp.N(v, 12)})
        return Decision("LOCAL", HOLDS, 0, f"g vanishes on {2 * r + 2} consecutive integers, so it is identically 0")
    return Decision("LOCAL", UNKNOWN, None, f"cannot decide the support of g(k) = {g}")


def decide(family: Family) -> FamilyConditions:
    periodic = decide_periodic(family)
    translation = decide_translation(family, periodic)
    local = decide_local(family, translation, periodic)
    return FamilyConditions(family.name, dict(family.params), periodic, translation, local, str(family.product()))
