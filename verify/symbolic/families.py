"""Positional-encoding families given by formulas in the position i (sympy).

A family has either position vectors p_i (a list of expressions in the integer symbol I) with a
bilinear form A — the positional–positional logit term is f(i, j) = p_iᵀ A p_j — or, for relative
biases, no vectors and f(i, j) = b(i − j) directly. Families:

- `sinusoidal(d, base=10000, frequencies=None)`: Vaswani et al.: p_i = (sin ω_k i, cos ω_k i)_k with
  ω_k = base^(−2k/d), k < d/2 (or the given frequencies).
- `onehot_mod(period)`: p_i = one-hot of i mod Δ.
- `rotary(thetas, q=None, k=None)`: RoPE: the logit's position part is (R_i q)ᵀ(R_j k) with R_i rotating
  the m-th coordinate pair by θ_m·i; q, k default to (1, 0) in every pair.
- `linear_bias(slope, window=None)`: ALiBi-style φ(j, i) = −slope·(i − j) (for i − j <= window when a
  window is given, 0 beyond).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import sympy as sp

from verify.problems import UserError

I, J, K, T = sp.symbols("i j k t", integer=True)


@dataclass(frozen=True)
class Family:
    name: str
    params: Dict[str, str]
    vectors: Optional[List[sp.Expr]] = None      # p_i as expressions in I (None: a relative bias family)
    form: Optional[sp.Matrix] = None             # A (identity by default)
    product_expr: Optional[sp.Expr] = None       # f(i, j) when there are no vectors (or a custom one)
    period_hint: Optional[int] = None            # one-hot families: the table's period (exact by construction)
    window: Optional[int] = None                 # relative bias families: support bound when windowed
    notes: str = field(default="")

    def product(self) -> sp.Expr:
        """f(i, j) = p_iᵀ A p_j (or the family's own expression), symbolic in I, J."""
        if self.product_expr is not None:
            return self.product_expr
        p_i = sp.Matrix(self.vectors)
        p_j = p_i.subs(I, J)
        A = self.form if self.form is not None else sp.eye(len(self.vectors))
        return sp.expand((p_i.T * A * p_j)[0, 0])


def parse_expr(text: str) -> sp.Expr:
    try:
        e = sp.sympify(text, locals={"pi": sp.pi, "i": I})
        return sp.nsimplify(e, rational=True) if e.has(sp.Float) else e
    except (sp.SympifyError, SyntaxError, TypeError) as err:
        raise UserError(f"cannot read {text!r} as a number or formula: {err}")


def _matrix(rows: Optional[Sequence[Sequence[str]]], size: int) -> Optional[sp.Matrix]:
    if rows is None:
        return None
    A = sp.Matrix([[parse_expr(x) if isinstance(x, str) else sp.nsimplify(x) for x in row] for row in rows])
    if A.shape != (size, size):
        raise UserError(f"the bilinear form must be {size} × {size} for this family, not {A.shape[0]} × {A.shape[1]}")
    return A


def sinusoidal(d: int = 4, base: object = 10000, frequencies: Optional[Sequence[object]] = None,
               matrix=None) -> Family:
    if frequencies is None:
        if d < 2 or d % 2:
            raise UserError(f"the sinusoidal encoding needs an even dimension d >= 2, not {d}")
        b = parse_expr(str(base)) if isinstance(base, str) else sp.nsimplify(base)
        frequencies = [1 / b ** sp.Rational(2 * k, d) for k in range(d // 2)]
    else:
        frequencies = [parse_expr(f) if isinstance(f, str) else sp.nsimplify(f) for f in frequencies]
        if not frequencies:
            raise UserError("give at least one frequency")
    vectors: List[sp.Expr] = []
    for w in frequencies:
        vectors += [sp.sin(w * I), sp.cos(w * I)]
    return Family("sinusoidal", {"frequencies": ", ".join(map(str, frequencies))}, vectors,
                  _matrix(matrix, len(vectors)))


def onehot_mod(period: int, matrix=None) -> Family:
    if not isinstance(period, int) or period < 1:
        raise UserError(f"the one-hot encoding needs a period Δ >= 1, not {period!r}")
    vectors = [sp.Piecewise((1, sp.Eq(sp.Mod(I, period), r)), (0, True)) for r in range(period)]
    return Family("onehot", {"period": str(period)}, vectors, _matrix(matrix, period), period_hint=period)


def rotary(thetas: Sequence[object] = ("2*pi/3",), q: Optional[Sequence[object]] = None,
           k: Optional[Sequence[object]] = None) -> Family:
    th = [parse_expr(t) if isinstance(t, str) else sp.nsimplify(t) for t in thetas]
    if not th:
        raise UserError("give at least one rotation angle θ")
    q = [sp.nsimplify(x) if not isinstance(x, str) else parse_expr(x) for x in (q or [1, 0] * len(th))]
    k = [sp.nsimplify(x) if not isinstance(x, str) else parse_expr(x) for x in (k or [1, 0] * len(th))]
    if len(q) != 2 * len(th) or len(k) != 2 * len(th):
        raise UserError(f"q and k need 2 coordinates per angle ({2 * len(th)})")
    total = 0
    vectors = []
    for m, t in enumerate(th):
        c_i, s_i, c_j, s_j = sp.cos(t * I), sp.sin(t * I), sp.cos(t * J), sp.sin(t * J)
        qi = (c_i * q[2 * m] - s_i * q[2 * m + 1], s_i * q[2 * m] + c_i * q[2 * m + 1])
        kj = (c_j * k[2 * m] - s_j * k[2 * m + 1], s_j * k[2 * m] + c_j * k[2 * m + 1])
        total += qi[0] * kj[0] + qi[1] * kj[1]
        vectors += [sp.cos(t * I), sp.sin(t * I)]
    return Family("rotary", {"thetas": ", ".join(map(str, th)), "q": str(list(q)), "k": str(list(k))},
                  vectors, product_expr=sp.expand(total),
                  notes="positions enter by rotating q and k; the vectors listed are the rotation angles")


def linear_bias(slope: object = 1, window: Optional[int] = None) -> Family:
    m = parse_expr(slope) if isinstance(slope, str) else sp.nsimplify(slope)
    if window is not None and (not isinstance(window, int) or window < 0):
        raise UserError(f"the window must be an integer >= 0, not {window!r}")
    expr = -m * (I - J)
    if window is not None:
        expr = sp.Piecewise((expr, sp.Le(I - J, window)), (0, True))
    return Family("alibi", {"slope": str(m), "window": str(window)}, None, product_expr=expr, window=window)


FAMILIES = {"sinusoidal": sinusoidal, "onehot": onehot_mod, "rotary": rotary, "alibi": linear_bias}
