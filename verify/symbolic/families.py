"""Positional-encoding families, held by their exact parameters (sympy numbers).

SPEC §2's Limit Transformer has two positional ingredients: a vector p_i added to the residual
stream (APE) and a position-only logit term φ(j, i). The families:

- `sinusoidal(d, base=10000, frequencies=None, matrix=None)`: Vaswani et al., APE:
  p_i = (sin ω_k i, cos ω_k i)_k with ω_k = base^(−2k/d), k < d/2 (or the given frequencies);
  the position–position product is f(i, j) = p_iᵀ A p_j (A = the head's KᵀQ restricted to positions).
- `onehot_mod(period, matrix=None)`: APE, p_i = one-hot of i mod Δ (Theorem 9's construction).
- `rotary(thetas, q=None, k=None)`: RoPE: nothing is added to the residual stream; the score is
  (R_i q)ᵀ(R_j k) with R_i rotating the m-th coordinate pair by θ_m·i (q, k default to (1, 0) per pair).
- `linear_bias(slope, window=None)`: ALiBi: nothing is added to the residual stream; φ(j, i) =
  −slope·(i − j) (for i − j ≤ window when a window is given, 0 beyond).

Text parameters are read by verify.symbolic.expr (a whitelist grammar; never eval/sympify).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple

import sympy as sp

from verify.problems import UserError
from verify.symbolic.expr import parse_number

I, J, K, T = sp.symbols("i j k t", integer=True)
MAX_D = 1024              # sinusoidal --d / coordinates from --frequencies / rotated coordinates (GPT-2: 768, 1024)
MAX_PERIOD = 4096         # onehot --period (the matrix A is Δ × Δ)
MAX_WINDOW = 10 ** 9      # alibi --window


@dataclass(frozen=True)
class Family:
    name: str                                       # sinusoidal | onehot | rotary | alibi
    params: Dict[str, str]
    frequencies: Tuple[sp.Expr, ...] = ()           # sinusoidal: ω_k; rotary: θ_m
    period: Optional[int] = None                    # onehot: Δ
    form: Optional[sp.Matrix] = None                # APE families: A (None: identity)
    q: Tuple[sp.Expr, ...] = ()                     # rotary
    k: Tuple[sp.Expr, ...] = ()                     # rotary
    slope: Optional[sp.Expr] = None                 # alibi
    window: Optional[int] = None                    # alibi
    notes: str = field(default="")

    @property
    def ape(self) -> bool:
        """Does the family add a vector p_i to the residual stream (the paper's APE setting)?"""
        return self.name in ("sinusoidal", "onehot")

    @property
    def size(self) -> int:
        """The number of coordinates of p_i (APE families), of rotated coordinates (rotary), or 0."""
        if self.name == "onehot":
            return int(self.period)
        return 2 * len(self.frequencies)

    def vectors(self) -> List[sp.Expr]:
        """p_i as expressions in I (APE families only)."""
        if self.name == "onehot":
            return [sp.Piecewise((1, sp.Eq(sp.Mod(I, self.period), r)), (0, True)) for r in range(self.period)]
        out: List[sp.Expr] = []
        for w in self.frequencies:
            out += [sp.sin(w * I), sp.cos(w * I)]
        return out

    def product(self) -> sp.Expr:
        """f(i, j): p_iᵀ A p_j (APE), the rotary score's position part, or ALiBi's φ — symbolic in I, J.
        For display and small cross-checks; the decisions work on the exact parameters instead."""
        if self.name == "alibi":
            expr = -self.slope * (I - J)
            return expr if self.window is None else sp.Piecewise((expr, sp.Le(I - J, self.window)), (0, True))
        if self.name == "rotary":
            total = sp.Integer(0)
            for m, t in enumerate(self.frequencies):
                c_i, s_i, c_j, s_j = sp.cos(t * I), sp.sin(t * I), sp.cos(t * J), sp.sin(t * J)
                q0, q1, k0, k1 = self.q[2 * m], self.q[2 * m + 1], self.k[2 * m], self.k[2 * m + 1]
                total += (c_i * q0 - s_i * q1) * (c_j * k0 - s_j * k1) + (s_i * q0 + c_i * q1) * (s_j * k0 + c_j * k1)
            return sp.expand(total)
        p_i = sp.Matrix(self.vectors())
        A = self.form if self.form is not None else sp.eye(len(p_i))
        return sp.expand((p_i.T * A * p_i.subs(I, J))[0, 0])

    def describe(self) -> str:
        """The product in words, short at any size."""
        if self.name == "sinusoidal":
            a = "A" if self.form is not None else "I"
            return (f"f(i, j) = p_iᵀ {a} p_j, p_i = (sin ω_k·i, cos ω_k·i) for {len(self.frequencies)} "
                    f"frequenc{'y' if len(self.frequencies) == 1 else 'ies'} ω_k")
        if self.name == "onehot":
            return f"f(i, j) = A[i mod {self.period}, j mod {self.period}], p_i = one-hot of i mod {self.period}"
        if self.name == "rotary":
            return "score = (R_i q)ᵀ(R_j k), R_i rotating coordinate pair m by θ_m·i; no p_i, no φ"
        window = "" if self.window is None else f" for i − j <= {self.window}, 0 beyond"
        return f"φ(j, i) = −{self.slope}·(i − j){window}; no p_i"


def value(x: object, flag: str) -> sp.Expr:
    """An exact real number from text (the whitelist grammar), an int, a Fraction, a float or a sympy number."""
    if isinstance(x, str):
        return parse_number(x, flag)
    if isinstance(x, bool):
        raise UserError(f"{flag}: expected a number, got {x!r}")
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")):
            raise UserError(f"{flag}: {x!r} is not a finite number")
        return sp.nsimplify(x, rational=True)      # a Python float (API use), never text
    if isinstance(x, sp.Basic) and _grammar_value(x) and x.is_real and x.is_finite:
        return x
    raise UserError(f"{flag}: expected a number built from rationals, pi, + − × ÷ and rational powers "
                    f"(what the decisions can reason about), got {x!r}")


def _grammar_value(x: sp.Basic) -> bool:
    """Built like the expr grammar's values: rationals and π under +, ×, and rational powers — so every
    value is an algebraic function of π, which the transcendence argument in decide.turns needs."""
    if x.is_Rational or x is sp.pi:
        return True
    if isinstance(x, (sp.Add, sp.Mul)):
        return all(_grammar_value(a) for a in x.args)
    if isinstance(x, sp.Pow):
        return x.exp.is_Rational and _grammar_value(x.base)
    return False


def _matrix(rows, size: int, flag: str = "--matrix") -> Optional[sp.Matrix]:
    if rows is None:
        return None
    if isinstance(rows, str):
        from verify.symbolic.expr import parse_matrix
        rows = parse_matrix(rows, flag)
    A = sp.Matrix([[value(x, flag) for x in row] for row in rows])
    if A.shape != (size, size):
        raise UserError(f"{flag}: the bilinear form must be {size} × {size} for this family, "
                        f"not {A.shape[0]} × {A.shape[1]}")
    return A


MAX_ANGLE = 10 ** 12      # |ω| for an angle that is not a rational number of turns (50-digit witnesses stay exact)


def _values(xs: Sequence[object], flag: str) -> Tuple[sp.Expr, ...]:
    if isinstance(xs, str):
        from verify.symbolic.expr import parse_list
        return tuple(parse_list(xs, flag))
    return tuple(value(x, flag) for x in xs)


def _angles(xs: Sequence[object], flag: str) -> Tuple[sp.Expr, ...]:
    """Angles (frequencies, rotation angles): a rational number of turns may be any size (it is reduced
    mod 2π exactly); any other angle must satisfy |ω| <= MAX_ANGLE."""
    from verify.symbolic.decide import turns
    out = _values(xs, flag)
    for w in out:
        if abs(sp.N(w, 30)) > MAX_ANGLE and turns(w).status != "rational":
            raise UserError(f"{flag}: the angle {str(w)[:40]} is larger than {MAX_ANGLE:.0e} and not a rational "
                            f"multiple of 2π; reduce it mod 2π")
    return out


def _count(n: int, what: str, flag: str, limit: int) -> None:
    if n > limit:
        raise UserError(f"{flag}: {n} {what} is more than this command handles ({limit}); use fewer")


def sinusoidal(d: int = 4, base: object = 10000, frequencies: Optional[Sequence[object]] = None,
               matrix=None) -> Family:
    if frequencies is None:
        if not isinstance(d, int) or d < 2 or d % 2:
            raise UserError(f"--d: the sinusoidal encoding needs an even dimension d >= 2, not {d}")
        _count(d, "dimensions", "--d", MAX_D)
        b = value(base, "--base")
        if not b.is_positive or b == 1:
            raise UserError(f"--base: the base must be a positive number other than 1, not {b}")
        ws = tuple(1 / b ** sp.Rational(2 * k, d) for k in range(d // 2))
    else:
        ws = _angles(frequencies, "--frequencies")
        if not ws:
            raise UserError("--frequencies: give at least one frequency")
        _count(2 * len(ws), "coordinates", "--frequencies", MAX_D)
    text = ", ".join(map(str, ws)) if len(ws) <= 8 else ", ".join(map(str, ws[:4])) + f", … ({len(ws)} in all)"
    return Family("sinusoidal", {"frequencies": text}, frequencies=ws, form=_matrix(matrix, 2 * len(ws)))


def onehot_mod(period: int, matrix=None) -> Family:
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        raise UserError(f"--period: the one-hot encoding needs a period Δ >= 1, not {period!r}")
    _count(period, "residues", "--period", MAX_PERIOD)
    return Family("onehot", {"period": str(period)}, period=period, form=_matrix(matrix, period))


def rotary(thetas: Sequence[object] = ("2*pi/3",), q: Optional[Sequence[object]] = None,
           k: Optional[Sequence[object]] = None) -> Family:
    th = _angles(thetas, "--thetas")
    if not th:
        raise UserError("--thetas: give at least one rotation angle θ")
    _count(2 * len(th), "rotated coordinates", "--thetas", MAX_D)
    qv = _values(q, "q") if q is not None else tuple(sp.Integer(x) for x in [1, 0] * len(th))
    kv = _values(k, "k") if k is not None else tuple(sp.Integer(x) for x in [1, 0] * len(th))
    if len(qv) != 2 * len(th) or len(kv) != 2 * len(th):
        raise UserError(f"q and k need 2 coordinates per angle ({2 * len(th)})")
    return Family("rotary", {"thetas": ", ".join(map(str, th)), "q": str(list(qv)), "k": str(list(kv))},
                  frequencies=th, q=qv, k=kv,
                  notes="positions enter by rotating q and k; nothing is added to the residual stream")


def linear_bias(slope: object = 1, window: Optional[int] = None) -> Family:
    m = value(slope, "--slope")
    if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 0
                               or window > MAX_WINDOW):
        raise UserError(f"--window: the window must be an integer in 0..{MAX_WINDOW}, not {window!r}")
    return Family("alibi", {"slope": str(m), "window": str(window)}, slope=m, window=window)


FAMILIES = {"sinusoidal": sinusoidal, "onehot": onehot_mod, "rotary": rotary, "alibi": linear_bias}
