"""How far the guarded heads' softmax leak stays below the comparison margin — proved, not sampled.

A guarded count #[P @ S] is read, per distance k ∈ S, by a head whose logit is λ at the target row
i − k (φ = λ·[i − j = k]), μ at the BOS (a content term) and 0 at the other t − 1 input rows (t input
tokens so far). With weight W(x) for logit x, the mass off the target is exactly

    δ(t) = (W(μ) + t − 1) / (W(λ) + W(μ) + t − 1),

and the construction's normalized count P(i−k)/(t+1) is off by at most δ(t) (the MLP gate
relu(u + raw − 1) is exact when P(i−k) = 0 or the target is absent, as long as W(μ) > 1). A sign test
on x = (C1 − C2 ± 1/2)/(t+1) has margin |x| >= 1/(2(t+1)) and error <= L·δ(t), L the number of leaking
reads it depends on (compiler error terms). So the compiled model computes the program at every length
t where

    (obligation)  L·δ(t) < 1/(2(t+1))   ⟺   2(t+1)·L·(W(μ) + t − 1) < W(λ) + W(μ) + t − 1.

- log-scaled attention (logit scale ln(t+1), softmax base e — the default): W(x) = (t+1)^x, so with
  x = t + 1 the obligation is the polynomial inequality
      f(x) = x^λ + x^μ + x − 2 − 2L·x·(x^μ + x − 2) > 0   for every real x >= 2,
  proved symbolically (sympy): f(y + 2) has only positive coefficients (a certificate anyone can
  re-expand), or else f(2) > 0 and f has no real root in [2, ∞) (Sturm count). It then holds at EVERY
  length: the Limit Transformer computes the program in exact arithmetic on all inputs.
- fixed logits (logit scale none, base b): W(x) = b^x is constant while t grows, the obligation fails
  for large t, and its exact horizon (the largest T with the obligation at every t <= T) is found by
  integer bisection (the difference of the two sides is increasing in t).
- ReLU-step comparison (slope s): also needs s·(1/(2(t+1)) − L·δ(t)) >= 1, so a finite horizon < s/2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import List, Optional, Tuple

SCALED = "log-scaled"
FIXED = "fixed"


@dataclass(frozen=True)
class LeakModel:
    kind: str                    # SCALED ((t+1)^x weights) or FIXED (base^x weights)
    hardness: int                # λ
    bos_bias: int                # μ
    base: int = 2                # FIXED only

    def weight(self, x: int, t: int) -> int:
        return (t + 1) ** x if self.kind == SCALED else self.base ** x

    def delta(self, t: int) -> Fraction:
        wm, wl = self.weight(self.bos_bias, t), self.weight(self.hardness, t)
        return Fraction(wm + t - 1, wl + wm + t - 1)

    def log_delta(self, t: float) -> float:
        """ln δ(t) in floating point (for huge t; used only for the float64 horizon)."""
        if self.kind == SCALED:
            lw = lambda x: x * math.log(t + 1.0)
        else:
            lw = lambda x: x * math.log(self.base)
        num = _logaddexp(lw(self.bos_bias), math.log(max(t - 1.0, 1e-300)) if t > 1 else -math.inf)
        den = _logaddexp(lw(self.hardness), num)
        return num - den

    def holds_at(self, leaks: Fraction, t: int) -> bool:
        wm, wl = self.weight(self.bos_bias, t), self.weight(self.hardness, t)
        return 2 * (t + 1) * leaks * (wm + t - 1) < wl + wm + t - 1


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def leak_model(model) -> Optional[LeakModel]:
    """The leak model of a compiled Limit Transformer (None: no guarded heads, or not compiled)."""
    lay = model.layout
    if lay is None or lay.hardness == 0:
        return None
    if model.logit_scale == "log_i" and model.softmax_base == math.e:
        return LeakModel(SCALED, lay.hardness, lay.bos_bias)
    if model.logit_scale in ("none", "inv_sqrt_dhead") and float(model.softmax_base).is_integer():
        # every head has d_head = 1, so 1/√d_head is the identity
        return LeakModel(FIXED, lay.hardness, lay.bos_bias, int(model.softmax_base))
    raise ValueError(f"no leak model for logit scale {model.logit_scale!r} with softmax base {model.softmax_base}")


def compare_leaks(line, error_terms) -> List[Tuple[int, Fraction]]:
    """(compare op, L) for every comparison that reads a leaking (guarded) count."""
    out = []
    for op in line.ops:
        if op.kind == "compare":
            leaks = sum(Fraction(error_terms.get(a, (0.0, 0.0))[1]) for a in op.args)
            if leaks > 0:
                out.append((op.index, leaks))
    return out


@dataclass(frozen=True)
class LeakProof:
    status: str                  # "all" (every length), "horizon" (holds for t <= horizon), "fails", "none"
    horizon: Optional[int]       # None with "all"/"none"
    method: str
    leaks: Optional[Fraction] = None
    detail: str = ""

    def as_dict(self) -> dict:
        return {"status": self.status, "horizon": self.horizon, "method": self.method,
                "leaks": None if self.leaks is None else str(self.leaks), "detail": self.detail}


def _polynomial(lm: LeakModel, leaks: Fraction):
    import sympy
    x = sympy.Symbol("x")
    L = sympy.Rational(leaks.numerator, leaks.denominator)
    lam, mu = lm.hardness, lm.bos_bias
    f = x ** lam + x ** mu + x - 2 - 2 * L * x * (x ** mu + x - 2)
    return x, sympy.Poly(sympy.expand(f * leaks.denominator), x)


def prove_scaled(lm: LeakModel, leaks: Fraction) -> LeakProof:
    """The obligation for every t >= 1 under log-scaled attention, symbolically."""
    import sympy
    x, f = _polynomial(lm, leaks)
    y = sympy.Symbol("y")
    shifted = sympy.Poly(f.as_expr().subs(x, y + 2), y)
    coeffs = shifted.all_coeffs()
    text = f"f(x) = x^{lm.hardness} + x^{lm.bos_bias} + x − 2 − 2·{leaks}·x·(x^{lm.bos_bias} + x − 2), x = t + 1"
    if all(c >= 0 for c in coeffs) and coeffs[-1] > 0:
        return LeakProof("all", None, "sympy: f(y + 2) has only non-negative coefficients and a positive constant "
                                      "term, so f(x) > 0 for every real x >= 2", leaks, text)
    if f.eval(2) > 0 and f.count_roots(2, None) == 0:
        return LeakProof("all", None, "sympy: f(2) > 0 and f has no real root in [2, ∞) (Sturm count)", leaks, text)
    # find the lengths where it fails (finitely many: x^λ dominates when λ > μ + 2)
    roots = [r for r in sympy.Poly(f, x).real_roots() if r >= 2]
    last = int(math.ceil(float(max(roots)))) if roots else 2
    bad = [t for t in range(1, last + 1) if not lm.holds_at(leaks, t)]
    return LeakProof("fails", None, "sympy real-root isolation of f on [2, ∞)", leaks,
                     text + f"; the bound fails at t = {bad[:5]}{'…' if len(bad) > 5 else ''}")


def fixed_horizon(lm: LeakModel, leaks: Fraction, cap: int = 2 ** 200) -> LeakProof:
    """Largest T with the obligation at every t <= T (fixed logits): exact integer bisection."""
    if not lm.holds_at(leaks, 1):
        return LeakProof("horizon", 0, "exact integer arithmetic", leaks, "fails already at t = 1")
    lo, hi = 1, 2
    while lm.holds_at(leaks, hi):
        lo, hi = hi, hi * 2
        if hi > cap:
            return LeakProof("horizon", cap, "exact integer arithmetic", leaks, "not reached below the cap")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if lm.holds_at(leaks, mid) else (lo, mid)
    return LeakProof("horizon", lo, "exact integer arithmetic: 2(t+1)·L·(b^μ + t − 1) < b^λ + b^μ + t − 1 "
                                    "is a quadratic in t whose left side grows faster; bisection", leaks,
                     f"holds for t <= {lo}, fails at t = {lo + 1}")


def prove(model) -> LeakProof:
    """The leak obligation of a compiled model, over all its comparisons (the worst L decides)."""
    lm = leak_model(model)
    lay = model.layout
    terms = compare_leaks(model.program, lay.error_terms) if lay is not None and model.program is not None else []
    if lm is None or not terms:
        return LeakProof("none", None, "no comparison reads a guarded count: nothing leaks")
    leaks = max(L for _, L in terms)
    if lm.kind == SCALED:
        return prove_scaled(lm, leaks)
    return fixed_horizon(lm, leaks)


def relu_horizon(model, leaks: Fraction = Fraction(0)) -> int:
    """Largest T such that slope·(1/(2(t+1)) − L·δ(t)) >= 1 for every t <= T (exact rationals)."""
    lay = model.layout
    slope = Fraction(lay.slope)
    lm = leak_model(model) if leaks else None

    def ok(t: int) -> bool:
        gap = Fraction(1, 2 * (t + 1)) - (leaks * lm.delta(t) if lm is not None else 0)
        return slope * gap >= 1

    top = int(slope) // 2 + 1           # beyond t + 1 > slope/2 the gap alone is too small
    if top <= 200_000:
        t = 0
        while t + 1 <= top and ok(t + 1):
            t += 1
        return t
    lo, hi = 0, top                     # very large slopes: bisection (monotone for fixed logits)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def auto_hardness(line, error_terms, bos_bias: int, largest: int = 64) -> int:
    """The smallest λ > μ + 1 whose log-scaled obligation is proved for every length."""
    terms = compare_leaks(line, error_terms)
    if not terms:
        return bos_bias + 2
    leaks = max(L for _, L in terms)
    lam = bos_bias + 2 + max(0, math.ceil(math.log2(4 * float(leaks))))
    while lam <= largest:
        if prove_scaled(LeakModel(SCALED, lam, bos_bias), leaks).status == "all":
            return lam
        lam += 1
    return largest
