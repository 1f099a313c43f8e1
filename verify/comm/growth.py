"""Classify bits against N as constant, logarithmic or linear, with the fits behind the call."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

CONSTANT, LOGARITHMIC, LINEAR, UNDETERMINED = "constant", "logarithmic", "linear", "undetermined"


@dataclass(frozen=True)
class Fit:
    """bits ≈ slope·g(N) + intercept, g = log₂ N or N; rss = residual sum of squares."""

    slope: float
    intercept: float
    rss: float

    def as_dict(self) -> dict:
        return {"slope": round(self.slope, 4), "intercept": round(self.intercept, 4), "rss": round(self.rss, 4)}


@dataclass(frozen=True)
class Growth:
    kind: str
    ns: Tuple[int, ...]
    bits: Tuple[float, ...]
    logarithmic: Fit          # a·log₂N + b
    linear: Fit               # c·N + d
    reason: str

    def as_dict(self) -> dict:
        return {"class": self.kind, "N": list(self.ns), "bits": list(self.bits),
                "fit_log": self.logarithmic.as_dict(), "fit_linear": self.linear.as_dict(),
                "reason": self.reason}


def _fit(g: np.ndarray, y: np.ndarray) -> Fit:
    a = np.vstack([g, np.ones_like(g)]).T
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    rss = float(np.sum((a @ coef - y) ** 2))
    return Fit(float(coef[0]), float(coef[1]), rss)


def classify(ns: Sequence[int], bits: Sequence[float]) -> Growth:
    """Constant when the bits stop changing over the larger half of the Ns; otherwise the better
    of the two least-squares fits, linear only if it is clearly better (rss at most half)."""
    pairs = sorted(zip(ns, bits))
    n = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    if len(n) < 3:
        zero = Fit(0.0, float(y.mean()) if len(y) else 0.0, 0.0)
        return Growth(UNDETERMINED, tuple(int(v) for v in n), tuple(y), zero, zero,
                      "fewer than 3 values of N")
    log_fit, lin_fit = _fit(np.log2(n), y), _fit(n, y)
    tail = y[len(y) // 2:]
    if np.all(tail == tail[0]):
        kind = CONSTANT
        reason = f"bits = {tail[0]:g} for every N from {int(n[len(y) // 2])} to {int(n[-1])}"
    elif lin_fit.rss <= 0.5 * log_fit.rss and lin_fit.slope > 0:
        kind = LINEAR
        reason = (f"linear fit {lin_fit.slope:.3g}·N + {lin_fit.intercept:.3g} (rss {lin_fit.rss:.3g}) beats "
                  f"log fit (rss {log_fit.rss:.3g})")
    else:
        kind = LOGARITHMIC
        reason = (f"log fit {log_fit.slope:.3g}·log₂N + {log_fit.intercept:.3g} (rss {log_fit.rss:.3g}); "
                  f"linear fit rss {lin_fit.rss:.3g}")
    return Growth(kind, tuple(int(v) for v in n), tuple(float(v) for v in y), log_fit, lin_fit, reason)
