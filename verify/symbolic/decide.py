"""PERIODIC and LOCAL for a positional-encoding family, as SPEC §2 defines them, decided exactly.

SPEC §2: PERIODIC is a property of the vectors p_i added to the residual stream (p_i = p_{i+Δ});
LOCAL is a property of the position-only logit term φ(j, i) (a function of i − j that is 0 beyond a
radius τ). An APE model realizes φ through position–position products f(i, j) = p_iᵀ A p_j, so the
report has three parts, each under its own name:

(i)   PERIODIC of p_i — the least period Δ, or a proof that none exists.
(ii)  f = periodic part + remainder: the periodic part depends only on (i mod Δ, j mod Δ) (what a
      periodic p_i can give); LOCAL asks whether the remainder is φ-like: translation invariant with
      finite support (radius τ). A nonzero local function is never doubly periodic, so the split is
      unique and "remainder not local" means f has no periodic + local decomposition at all.
(iii) what the paper's theory covers for the family, and for encodings outside the APE setting the
      analogous property under its own name (rotary: ROTATION PERIODIC, RELATIVE, ROTATION LOCAL).

Methods (exact arithmetic; no Δ × Δ tables, no simplification of big products):
- angles: ω/2π for every frequency is decided exactly (`turns`): rational (then p_i's pair
  (sin ωi, cos ωi) has least period = its denominator, and the tuple's is the lcm), algebraic and
  irrational (minimal polynomial of degree > 1), or a non-constant algebraic function of π — hence
  transcendental, as π is. Two angles are the same on the integers iff their difference is in 2πZ,
  decided the same way after a float64 filter.
- products as exponential polynomials: sin/cos coordinates are e^{±iωi} combinations, so
  f = Σ c·e^{i(a·i + b·j)} over angle classes (a, b) with exact coefficients c. Such functions with
  distinct (a, b) mod 2π are linearly independent on Z², which makes every test a test on terms:
  doubly periodic ⇔ a, b both rational turns; translation invariant ⇔ a + b ∈ 2πZ; and a nonzero
  invariant one g(k) = Σ c·e^{iak} with r terms cannot vanish on r consecutive integers
  (Vandermonde), so its support is unbounded. Witnesses are evaluated at 50 digits (mpmath).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from math import gcd
from typing import Dict, List, Optional, Tuple

import mpmath
import numpy as np
import sympy as sp

from verify.symbolic.families import Family

HOLDS, FAILS, UNKNOWN, NOT_APPLICABLE = "holds", "fails", "unknown", "n/a"
_X = sp.Dummy("x", positive=True)       # stands for π in the transcendence argument
_Z = sp.Dummy("z")
WITNESS_K = 10 ** 6                      # where unbounded-support witnesses are looked for
_DIGITS = 50


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
    coverage: str                      # (iii) what the paper's theory covers
    periodic: Decision                 # (i) PERIODIC of p_i
    decomposition: Decision            # (ii) f = periodic part + remainder
    translation_invariant: Decision    # (ii) the remainder depends on i − j only (LOCAL needs it)
    local: Decision                    # (ii) LOCAL of the remainder (radius τ)
    analogues: Tuple[Decision, ...] = ()   # (iii) encodings outside the APE setting
    product: str = ""
    seconds: float = 0.0

    def as_dict(self):
        return {"family": self.family, "params": self.params, "product": self.product, "coverage": self.coverage,
                "periodic": self.periodic.as_dict(), "decomposition": self.decomposition.as_dict(),
                "translation_invariant": self.translation_invariant.as_dict(), "local": self.local.as_dict(),
                "analogues": [a.as_dict() for a in self.analogues], "seconds": round(self.seconds, 4)}


# ------------------------------------------------------------------ angles: ω/2π exactly
@dataclass(frozen=True)
class Turns:
    value: Optional[sp.Rational]     # ω/2π when rational
    status: str                      # "rational" | "irrational" | "unknown"
    reason: str


def _is_zero_function(expr: sp.Expr) -> Optional[bool]:
    """Is an expression in _X identically 0? sympy's cancel, cross-checked at three points (None: unsure)."""
    if sp.cancel(expr) == 0:
        return True
    values = [abs(sp.N(expr.subs(_X, x0), 30)) for x0 in (sp.pi, sp.Rational(5, 2), sp.Rational(7, 3))]
    return False if any(v.is_Number and v > sp.Float("1e-20") for v in values) else None


@lru_cache(maxsize=None)
def turns(w: sp.Expr) -> Turns:
    """ω/2π: rational (with its value), or a proof of irrationality, or unknown."""
    r = w / (2 * sp.pi)
    if r.is_Rational:
        return Turns(sp.Rational(r), "rational", f"ω/2π = {r}")
    if not w.has(sp.pi) and w.is_algebraic and abs(sp.N(w, 30)) > sp.Float("1e-20"):
        return Turns(None, "irrational", f"ω = {w} is algebraic and nonzero, so ω/2π is transcendental (π is "
                                         f"transcendental) — in particular irrational")
    e = sp.expand(r.subs(sp.pi, _X))
    if e.has(_X):
        constant = _is_zero_function(sp.diff(e, _X))
        if constant is False:
            return Turns(None, "irrational",
                         f"ω/2π = {r} is a non-constant algebraic function of π, so it is transcendental "
                         f"(π is transcendental) — in particular irrational")
        if constant is None:
            return Turns(None, "unknown", f"cannot decide whether {r} depends on π")
        e = sp.simplify(e.subs(_X, 1))     # exact (nsimplify would guess from floats)
        if e.is_Rational:
            return Turns(sp.Rational(e), "rational", f"ω/2π = {e}")
    if sp.count_ops(e) > 200:
        return Turns(None, "unknown", f"ω/2π = {r} is too large an algebraic expression to decide")
    try:
        poly = sp.Poly(sp.minimal_polynomial(e, _Z), _Z)
    except (NotImplementedError, ValueError, sp.PolynomialError) as err:
        return Turns(None, "unknown", f"no minimal polynomial for {r} ({err})")
    if poly.degree() == 1:
        c1, c0 = poly.all_coeffs()
        return Turns(sp.Rational(-c0, c1), "rational", f"ω/2π = {sp.Rational(-c0, c1)}")
    return Turns(None, "irrational", f"ω/2π = {r} is algebraic of degree {poly.degree()} (minimal polynomial "
                                     f"{poly.as_expr()}), so irrational")


def _lcm(a: int, b: int) -> int:
    return a * b // gcd(a, b)


def _period_of(angles, what: str, name: str, vector: str) -> Decision:
    """The least Δ with angle·Δ ∈ 2πZ for every angle, or a proof that none exists."""
    delta, rational = 1, []
    for w in angles:
        t = turns(w)
        if t.status == "irrational":
            return Decision(name, FAILS, None,
                            f"{t.reason.replace('ω', what)}; {vector} has a coordinate pair "
                            f"(sin {what}·i, cos {what}·i)"
                            f", and equality at i and i + Δ for all i forces {what}Δ ∈ 2πZ, i.e. {what}/2π = m/Δ "
                            f"rational — so no period Δ exists", {what: w})
        if t.status == "unknown":
            return Decision(name, UNKNOWN, None, f"undecided for {what} = {w}: {t.reason}")
        delta = _lcm(delta, int(t.value.q))
        rational.append(t.value)
    shown = ", ".join(map(str, rational[:6])) + (" …" if len(rational) > 6 else "")
    return Decision(name, HOLDS, delta,
                    f"every {what}/2π is rational ({shown}); a pair (sin {what}·i, cos {what}·i) with "
                    f"{what}/2π = m/q in lowest "
                    f"terms has least period q, so the least period of {vector} is the lcm of the denominators: "
                    f"Δ = {delta} (exact)")


# ------------------------------------------------------------------ exponential polynomials
@dataclass
class _Angles:
    """Signed frequencies grouped into classes equal mod 2π; class -> representative, its negation's class."""
    reps: List[sp.Expr] = field(default_factory=list)
    neg: List[int] = field(default_factory=list)

    @staticmethod
    def build(freqs) -> Tuple["_Angles", List[Tuple[int, int]]]:
        """(classes, [(class of +ω, class of −ω) per frequency])."""
        signed = []
        for w in freqs:   # a rational number of turns is reduced to [0, 2π) exactly (cheap floats, exact witnesses)
            t = turns(w)
            if t.status == "rational":
                signed += [2 * sp.pi * (t.value % 1), 2 * sp.pi * ((-t.value) % 1)]
            else:
                signed += [w, -w]
        # the fractional part of ω/2π at 40 digits (|ω| <= 10^12, so 28 digits survive), then as a float
        floats = np.array([float(sp.N(w / (2 * sp.pi), 40) % 1) for w in signed])
        parent = list(range(len(signed)))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x
        # float filter, then an exact check of each candidate pair: ω − ω' ∈ 2πZ
        diff = floats[:, None] - floats[None, :]
        close = np.abs(diff - np.round(diff)) < 1e-9
        for a, b in zip(*np.nonzero(np.triu(close, 1))):
            if find(a) == find(b):
                continue
            delta = signed[a] - signed[b]
            t = turns(delta) if delta != 0 else Turns(sp.Integer(0), "rational", "")
            if t.status == "rational" and t.value.q == 1:
                parent[find(a)] = find(b)
        roots, index = {}, []
        out = _Angles()
        for x in range(len(signed)):
            r = find(x)
            if r not in roots:
                roots[r] = len(out.reps)
                out.reps.append(signed[r])
            index.append(roots[r])
        out.neg = [0] * len(out.reps)
        for x in range(0, len(signed), 2):
            out.neg[index[x]], out.neg[index[x + 1]] = index[x + 1], index[x]
        return out, [(index[2 * f], index[2 * f + 1]) for f in range(len(freqs))]


Terms = Dict[Tuple[int, int], sp.Expr]      # (class of a, class of b) -> c in Σ c·e^{i(a·i + b·j)}


class UndecidedCoefficient(Exception):
    """A coefficient sympy cannot prove zero or nonzero (numerically below 1e-40, not simplifying to 0)."""


def _nonzero(terms: Terms) -> Terms:
    """The terms whose coefficient is nonzero, each decided: expand; a value below 1e-40 at 60 digits must
    also simplify to 0 (nested radicals can hide a zero from expand), else UndecidedCoefficient."""
    out = {}
    for key, v in terms.items():
        c = sp.expand(v)
        if c == 0:
            continue
        if abs(sp.N(c, 60)) < sp.Float("1e-40"):
            if sp.simplify(sp.sqrtdenest(c)) == 0:
                continue
            raise UndecidedCoefficient(f"the coefficient {c} is below 1e-40 but does not simplify to 0")
        out[key] = c
    return out


def _ape_terms(family: Family) -> Tuple[_Angles, Terms]:
    """f(i, j) = p_iᵀ A p_j for p_i = (sin ω_k i, cos ω_k i)_k as exact exponential-polynomial terms."""
    angles, pairs = _Angles.build(family.frequencies)
    half, ihalf = sp.Rational(1, 2), sp.I / 2
    coords = []                 # per coordinate: [(class, coefficient)]: sin = (e⁺ − e⁻)/2i, cos = (e⁺ + e⁻)/2
    for plus, minus in pairs:
        coords.append([(plus, -ihalf), (minus, ihalf)])
        coords.append([(plus, half), (minus, half)])
    A = family.form
    terms: Terms = {}
    n = len(coords)
    for r in range(n):
        for s in (range(n) if A is not None else (r,)):
            a_rs = A[r, s] if A is not None else sp.Integer(1)
            if a_rs == 0:
                continue
            for ca, x in coords[r]:
                for cb, y in coords[s]:
                    terms[(ca, cb)] = terms.get((ca, cb), 0) + a_rs * x * y
    return angles, _nonzero(terms)


def _rotary_terms(family: Family) -> Tuple[_Angles, Terms]:
    """The rotary score's position part Σ_m (R_i q_m)·(R_j k_m): with q̃ = q0 + i·q1, k̃ = k0 + i·k1,
    (R_i q)·(R_j k) = Re(e^{iθ(i−j)} q̃ conj(k̃)) = (u·e^{iθi}e^{−iθj} + conj(u)·e^{−iθi}e^{iθj})/2, u = q̃ conj(k̃)."""
    angles, pairs = _Angles.build(family.frequencies)
    terms: Terms = {}
    for m, (plus, minus) in enumerate(pairs):
        q = family.q[2 * m] + sp.I * family.q[2 * m + 1]
        k = family.k[2 * m] + sp.I * family.k[2 * m + 1]
        u = sp.expand(q * sp.conjugate(k))
        for key, c in (((plus, minus), u / 2), ((minus, plus), sp.conjugate(u) / 2)):
            terms[key] = terms.get(key, 0) + c
    return angles, _nonzero(terms)


def _evaluate(angles: _Angles, terms: Terms, points) -> List[mpmath.mpc]:
    """Σ c·e^{i(a·i + b·j)} at integer points (i, j), 50 digits."""
    with mpmath.workdps(_DIGITS):
        ts = [(mpmath.mpc(sp.N(c, _DIGITS)), mpmath.mpf(sp.N(angles.reps[a], _DIGITS)),
               mpmath.mpf(sp.N(angles.reps[b], _DIGITS))) for (a, b), c in terms.items()]
        return [mpmath.fsum(c * mpmath.expj(a * i + b * j) for c, a, b in ts) for i, j in points]


def _floats(angles: _Angles, terms: Terms):
    keys = list(terms)
    c = np.array([complex(sp.N(terms[k], 20)) for k in keys])
    a = np.array([float(sp.N(angles.reps[k[0]], 20)) for k in keys])
    b = np.array([float(sp.N(angles.reps[k[1]], 20)) for k in keys])
    return c, a, b


def _translation_witness(angles: _Angles, terms: Terms):
    """(i, j, t) with R(i+t, j+t) ≠ R(i, j): float64 search, confirmed at 50 digits."""
    c, a, b = _floats(angles, terms)
    best, arg = -1.0, None
    for i in range(6):
        for j in range(i + 1):
            for t in range(1, 6):
                v = abs(np.sum(c * (np.exp(1j * (a * (i + t) + b * (j + t))) - np.exp(1j * (a * i + b * j)))))
                if v > best:
                    best, arg = v, (i, j, t)
    i, j, t = arg
    before, after = _evaluate(angles, terms, [(i, j), (i + t, j + t)])
    if abs(after - before) > mpmath.mpf("1e-30"):
        return {"i": i, "j": j, "t": t, "R(i,j)": mpmath.nstr(before.real, 12),
                "R(i+t,j+t)": mpmath.nstr(after.real, 12)}
    return None


def _support_witness(angles: _Angles, terms: Terms):
    """g(k) = R(k, 0) ≠ 0 at some k in [WITNESS_K, WITNESS_K + r): largest |g| in float64, confirmed at 50 digits."""
    c, a, _ = _floats(angles, terms)
    ks = np.arange(WITNESS_K, WITNESS_K + len(terms))
    g = np.abs(np.exp(1j * np.outer(ks, a)) @ c)
    k = int(ks[int(np.argmax(g))])
    v = _evaluate(angles, terms, [(k, 0)])[0]
    if abs(v) > mpmath.mpf("1e-30"):
        return {"k": k, "g(k)": mpmath.nstr(v.real, 12)}
    return None


def _split(angles: _Angles, terms: Terms) -> Tuple[Terms, Terms]:
    """(doubly periodic terms, remainder): a term is doubly periodic iff both of its angles have rational turns."""
    rational = [turns(w).status == "rational" for w in angles.reps]
    per = {k: c for k, c in terms.items() if rational[k[0]] and rational[k[1]]}
    return per, {k: c for k, c in terms.items() if k not in per}


def _local_of(angles: _Angles, rest: Terms, name: str, what: str) -> Tuple[Decision, Decision]:
    """(translation invariance, LOCAL) of an exponential polynomial `rest` (linear independence of the terms)."""
    if not rest:
        return (Decision("translation invariance", HOLDS, None, f"{what} is 0"),
                Decision(name, HOLDS, 0, f"{what} is identically 0, so LOCAL holds with τ = 0"))
    moving = {k: c for k, c in rest.items() if angles.neg[k[0]] != k[1]}
    if moving:
        (a, b) = next(iter(moving))
        witness = _translation_witness(angles, rest)
        reason = (f"{what} has {len(moving)} term(s) c·e^(i(a·i + b·j)) with a + b ∉ 2πZ, e.g. (a, b) = "
                  f"({angles.reps[a]}, {angles.reps[b]}); distinct exponentials are linearly independent on the "
                  f"integers, so it is not a function of i − j")
        trans = Decision("translation invariance", FAILS, None, reason + (" — witness at 50 digits" if witness else ""),
                         witness)
        return trans, Decision(name, FAILS, None, "LOCAL needs a function of i − j, and " + reason, witness)
    trans = Decision("translation invariance", HOLDS, None,
                     f"every term of {what} has a + b ∈ 2πZ (checked exactly), so it is g(i − j)")
    witness = _support_witness(angles, rest)
    reason = (f"{what} is g(i − j) with g(k) = Σ c·e^(iak), {len(rest)} term(s) with distinct angles mod 2π and not "
              f"all c = 0; such a g cannot vanish on {len(rest)} consecutive integers (Vandermonde), so beyond any "
              f"radius τ it is nonzero somewhere: the support is unbounded")
    return trans, Decision(name, FAILS, None, reason, witness)


# ------------------------------------------------------------------ the families
def _ape(family: Family) -> FamilyConditions:
    vector = "p_i"
    if family.name == "onehot":
        d = family.period
        periodic = Decision("PERIODIC", HOLDS, d, f"p_i is the one-hot of i mod {d}: p_(i+{d}) = p_i, and the {d} "
                                                  f"residues give {d} distinct vectors, so {d} is the least period")
        decomposition = Decision("decomposition", HOLDS, "periodic part = f, remainder = 0",
                                 f"f(i, j) = A[i mod {d}, j mod {d}] depends only on (i mod Δ, j mod Δ): all of f is "
                                 f"the periodic part")
        trans = Decision("translation invariance", HOLDS, None, "the remainder is 0")
        local = Decision("LOCAL", HOLDS, 0, "the remainder is identically 0, so LOCAL holds with τ = 0 (no φ is "
                                            "needed beside the periodic part)")
    else:
        periodic = _period_of(family.frequencies, "ω", "PERIODIC", vector)
        try:
            angles, terms = _ape_terms(family)
        except UndecidedCoefficient as why:
            return _undecided(family, periodic, str(why))
        per, rest = _split(angles, terms)
        decomposition = Decision("decomposition", HOLDS, f"periodic part: {len(per)} term(s), remainder: {len(rest)}",
                                 f"f = Σ c·e^(i(a·i + b·j)) with {len(terms)} nonzero term(s) (exact); the "
                                 f"{len(per)} with both angles rational multiples of 2π form the doubly periodic part, "
                                 f"the other {len(rest)} the remainder")
        if any(turns(w).status == "unknown" for w in angles.reps):
            why = next(turns(w).reason for w in angles.reps if turns(w).status == "unknown")
            decomposition = Decision("decomposition", UNKNOWN, None, f"an angle is undecided: {why}")
            trans = Decision("translation invariance", UNKNOWN, None, decomposition.reason)
            local = Decision("LOCAL", UNKNOWN, None, decomposition.reason)
        else:
            trans, local = _local_of(angles, rest, "LOCAL", "the remainder")
    coverage = ("APE: p_i is added to the residual stream and f(i, j) = p_iᵀ A p_j is the position–position part "
                "of a logit — the paper's setting. PERIODIC is asked of p_i; LOCAL of what f adds beyond a "
                "periodic part (the φ of a Limit Transformer).")
    return FamilyConditions(family.name, dict(family.params), coverage, periodic, decomposition, trans, local,
                            (), family.describe())


def _undecided(family: Family, periodic: Decision, why: str) -> FamilyConditions:
    dec = Decision("decomposition", UNKNOWN, None, why)
    return FamilyConditions(family.name, dict(family.params), "", periodic, dec,
                            Decision("translation invariance", UNKNOWN, None, why), Decision("LOCAL", UNKNOWN, None, why),
                            (), family.describe())


def _alibi(family: Family) -> FamilyConditions:
    m, w = family.slope, family.window
    periodic = Decision("PERIODIC", HOLDS, 1, "ALiBi adds nothing to the residual stream: p_i = 0 for every i, "
                                              "periodic with Δ = 1")
    decomposition = Decision("decomposition", HOLDS, "periodic part = 0, remainder = φ",
                             "with p_i = 0 the position–position product is 0; all positional information is the "
                             "bias φ(j, i) = −m·(i − j)")
    trans = Decision("translation invariance", HOLDS, None, "φ(j, i) = g(i − j) with g(k) = −m·k by definition")
    if m == 0:
        local = Decision("LOCAL", HOLDS, 0, "the slope is 0: φ is identically 0, τ = 0")
    elif w is not None:
        tau = w if w >= 1 else 0
        local = Decision("LOCAL", HOLDS, tau, f"g(k) = −({m})·k is 0 beyond the window k > {w}, and g({tau}) = "
                                              f"{-m * tau} {'≠' if tau else '='} 0: radius τ = {tau}")
    else:
        local = Decision("LOCAL", FAILS, None, f"g(k) = −({m})·k ≠ 0 for every k >= 1: no radius τ",
                         {"k": WITNESS_K, "g(k)": -m * WITNESS_K})
    coverage = ("ALiBi adds φ(j, i) = −m·(i − j) to every logit and nothing to the residual stream: exactly the "
                "Limit Transformer's position-only term with p_i = 0, so the paper's conditions apply as they are "
                "(PERIODIC trivially; LOCAL needs a window).")
    return FamilyConditions(family.name, dict(family.params), coverage, periodic, decomposition, trans, local,
                            (), family.describe())


def _rotary(family: Family) -> FamilyConditions:
    periodic = Decision("PERIODIC", HOLDS, 1, "rotary adds nothing to the residual stream: p_i = 0 for every i, "
                                              "periodic with Δ = 1 (as for ALiBi and NoPE)")
    why = ("rotary has no position–position product and no additive φ: positions enter by rotating each "
           "query and key, a product of position and content that the Limit Transformer has no term for")
    decomposition = Decision("decomposition", NOT_APPLICABLE, None, why)
    trans = Decision("translation invariance", NOT_APPLICABLE, None, "no position–position product (above)")
    local = Decision("LOCAL", NOT_APPLICABLE, None, "no additive φ (above); see ROTATION LOCAL below")
    try:
        angles, terms = _rotary_terms(family)
    except UndecidedCoefficient as why:
        out = _undecided(family, periodic, str(why))
        return FamilyConditions(family.name, dict(family.params), "", periodic, decomposition, trans, local,
                                (out.local,), family.describe())
    rotation = _period_of(family.frequencies, "θ", "ROTATION PERIODIC", "R_i")
    relative, rotation_local = _local_of(angles, terms, "ROTATION LOCAL", "the score's position part")
    relative = Decision("RELATIVE", relative.status, None,
                        relative.reason + " — the score depends on the positions only through i − j", relative.witness)
    coverage = ("outside the paper's APE setting: Theorems 7 and 9 say nothing about rotary. Its analogues: "
                "ROTATION PERIODIC (R_(i+Δ) = R_i, the analogue of PERIODIC), RELATIVE (the score's position part "
                "depends on i − j only) and ROTATION LOCAL (that part vanishes beyond a radius, the analogue of "
                "LOCAL).")
    return FamilyConditions(family.name, dict(family.params), coverage, periodic, decomposition, trans, local,
                            (rotation, relative, rotation_local), family.describe())


def decide_periodic(family: Family) -> Decision:
    """(i) PERIODIC of p_i alone."""
    if family.name == "onehot":
        return _ape(family).periodic
    if family.name == "sinusoidal":
        return _period_of(family.frequencies, "ω", "PERIODIC", "p_i")
    return (_alibi if family.name == "alibi" else _rotary)(family).periodic


def decide(family: Family) -> FamilyConditions:
    import time
    start = time.perf_counter()
    if family.name in ("sinusoidal", "onehot"):
        out = _ape(family)
    elif family.name == "alibi":
        out = _alibi(family)
    else:
        out = _rotary(family)
    from dataclasses import replace
    return replace(out, seconds=time.perf_counter() - start)
