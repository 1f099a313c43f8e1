"""Regularizers on finite transformers (SPEC §3).

- `practical_penalty(P, heads)`: the paper's code, exactly — for each layer and head,
  A = (P Wq)(P Wk)ᵀ and penalty = Σ_{l,h} (1/N) Σ_j Σ_{i>=j} A[i, j]², N = number of rows of P
  (it ignores LayerNorm, biases and the 1/√d_head scale). `practical(finite)` reads P, Wq, Wk from a model.
- `TheoreticalRegularizer`: a pluggable interface — any callable `finite -> RegularizerValue`.
  The paper's R(T) is known only in outline [recon]; it grows with depth, heads, precision and parameter
  size, and charges positional–positional interactions. The documented default, `PositionalStructure`, is
        R(T) = L + H + precision_bits/64 + max |content weight|
             + Σ_{l,h} max_i Σ_{j<=i} |A_lh[i, j]|           (positional attention mass)
             + #distinct rows of P·W_read                    (positional information seen by values,
                                                              MLPs and norms, up to 1e-9)
  where A_lh = (P Wq)(P Wk)ᵀ and "content weight" excludes the rows/columns acting on positional
  coordinates that only queries and keys read. Its contract (checked in theorems/theorem9.py): for the
  finite realization of a compiled Limit Transformer it stays bounded as N grows; for non-local
  (Σ_j |A| grows) or non-periodic (distinct positional rows grow) positional use it grows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Protocol, Sequence, Tuple

import numpy as np

from verify.limit.conditions import model_heads, position_products


def practical_penalty(P: np.ndarray, heads: Sequence[Tuple[np.ndarray, np.ndarray]]) -> float:
    """Σ_{heads} (1/N) Σ_j Σ_{i>=j} A[i, j]² with A = (P Wq)(P Wk)ᵀ; heads are (Wq, Wk), x @ W convention."""
    P = np.asarray(P, dtype=np.float64)
    total = 0.0
    for Wq, Wk in heads:
        A = position_products(P, Wq, Wk)
        total += float((np.tril(A) ** 2).sum()) / P.shape[0]
    return total


def practical(finite) -> float:
    return practical_penalty(finite.positions, [(q, k) for _, _, q, k in model_heads(finite)])


@dataclass(frozen=True)
class RegularizerValue:
    total: float
    parts: Dict[str, float] = field(default_factory=dict)


class TheoreticalRegularizer(Protocol):
    name: str

    def __call__(self, finite) -> RegularizerValue: ...


def _distinct_rows(X: np.ndarray, tol: float = 1e-9) -> int:
    if X.size == 0 or not X.any():
        return 1 if X.shape[0] else 0
    return int(len(np.unique(np.round(X / tol) * tol, axis=0)))


@dataclass(frozen=True)
class PositionalStructure:
    """The default theoretical regularizer (see the module docstring)."""

    precision_bits: int = 64
    name: str = "positional-structure"

    def __call__(self, finite) -> RegularizerValue:
        P = finite.positions
        heads = model_heads(finite)
        attention_mass = 0.0
        for _, _, Wq, Wk in heads:
            A = np.tril(position_products(P, Wq, Wk))
            attention_mass += float(np.abs(A).sum(axis=1).max()) if A.size else 0.0
        # what reads the residual stream other than queries and keys
        reads: List[np.ndarray] = []
        for layer in finite.layers:
            reads += [h.value for h in layer.heads]
            if layer.norm is not None:
                reads.append(layer.norm.read)
            if layer.mlp is not None:
                reads.append(layer.mlp.w_in)
        reads.append(finite.unembedding)
        W = np.concatenate(reads, axis=0) if reads else np.zeros((0, P.shape[1]))
        seen = P @ W.T
        distinct = _distinct_rows(seen)
        # content weights: drop the coordinates that only queries/keys read (the realized φ blocks)
        used = np.abs(W).sum(axis=0) > 0
        used |= np.abs(finite.embedding).sum(axis=0) > 0
        content = [np.abs(W[:, used]).max() if W.size else 0.0, np.abs(finite.embedding).max()]
        for _, _, Wq, Wk in heads:
            for M in (Wq, Wk):
                sub = M[used]
                if sub.size:
                    content.append(np.abs(sub).max())
        architecture = float(finite.depth + finite.total_heads)
        parts = {"architecture": architecture, "precision": self.precision_bits / 64.0,
                 "max_content_weight": float(max(content)), "positional_attention_mass": attention_mass,
                 "distinct_positional_rows": float(distinct)}
        return RegularizerValue(float(sum(parts.values())), parts)


DEFAULT_THEORETICAL: TheoreticalRegularizer = PositionalStructure()


def tabulate(model, sizes: Sequence[int] = (64, 128, 256, 512, 1024, 2048, 4096),
             theoretical: Callable = DEFAULT_THEORETICAL) -> List[Dict[str, float]]:
    """Both regularizers of T_N for every N (N below the model's Δ or τ is skipped)."""
    from verify.limit.realize import realize
    rows = []
    for N in sizes:
        if N < max(model.positions.shape[0], model.radius + 1):
            continue
        finite = realize(model, N)
        value = theoretical(finite)
        rows.append({"N": N, "practical": practical(finite), "theoretical": value.total,
                     **{f"theoretical.{k}": v for k, v in value.parts.items()}})
    return rows


# ------------------------------------------------------------- counter-examples to boundedness
def nonlocal_example(N: int, weight: float = 1.0):
    """A finite transformer whose one head has φ(j, i) = weight for every j <= i (translation invariant,
    not local): the positional attention mass grows like N."""
    from verify.limit.model import Head, Layer, LimitTransformer
    from verify.limit.realize import realize
    d = 2
    head = Head(np.zeros((1, d)), np.zeros((1, d)), np.zeros((1, d)), np.zeros((d, 1)),
                phi=np.array([weight]), phi_beyond=weight, name="non-local")
    limit = LimitTransformer(alphabet=("a",), embedding=np.eye(3, d), positions=np.zeros((1, d)),
                             layers=(Layer((head,)),), unembedding=np.zeros((1, d)), output_keys=("accept",))
    return realize(limit, N)


def nonperiodic_example(N: int, frequency: float = 1.0):
    """A finite transformer whose position table is the sinusoid (cos ωi, sin ωi) with ω/2π irrational,
    read by a value map: every position is distinct, so the positional information grows with N."""
    from verify.limit.model import FiniteTransformer, Head, Layer
    i = np.arange(N + 1)
    P = np.stack([np.cos(frequency * i), np.sin(frequency * i)], axis=1)
    head = Head(np.zeros((1, 2)), np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.zeros((2, 1)), name="reads position")
    return FiniteTransformer(alphabet=("a",), embedding=np.zeros((3, 2)), positions=P, layers=(Layer((head,)),),
                             unembedding=np.zeros((1, 2)), output_keys=("accept",), context=N)
