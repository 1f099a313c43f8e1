"""PNG of bits against N: lower bound, protocol bits, the C·log N envelopes (matplotlib, Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Tuple

import numpy as np

from verify.outputs import ensure_parent
from verify.problems import UserError

Series = Tuple[str, Sequence[int], Sequence[float]]


def plot_bits(path: str, title: str, points: Sequence[Series], curves: Sequence[Series],
              crossings: Sequence[Tuple[str, int]] = ()) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UserError(f"--plot {path!r}: the plot is a PNG; give a path ending in .png")
    ensure_parent(target, "--plot")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = "os^Dv"
    for k, (label, ns, bits) in enumerate(points):
        if len(ns):
            ax.plot(ns, bits, markers[k % len(markers)], label=label, markersize=5)
    for label, ns, bits in curves:
        ax.plot(ns, bits, "-", label=label, linewidth=1.5)
    ax.set_xscale("log", base=2)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    for label, n0 in crossings:  # labels at the foot of the line, clear of the title and legend
        ax.axvline(n0, linestyle=":", color="grey")
        ax.annotate(f" {label}\n N = {n0}", xy=(n0, 0.03), xycoords=("data", "axes fraction"), fontsize=8,
                    ha="left", va="bottom")
    ax.set_xlabel("N (Alice's half-length)")
    ax.set_ylabel("bits")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(target, dpi=120)
    except OSError as err:
        raise UserError(f"--plot {path!r}: cannot write the file: {err}") from None
    finally:
        plt.close(fig)
    return str(target)


def envelope_ns(n_max: int) -> np.ndarray:
    return np.unique(np.round(np.logspace(0, np.log2(max(2, n_max)), 200, base=2)).astype(np.int64))
