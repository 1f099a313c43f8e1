"""Regularizers on finite transformers (SPEC §3).

- `practical_penalty(P, heads)`: the paper's code, exactly — for each layer and head,
  A = (P Wq)(P Wk)ᵀ and penalty = Σ_{l,h} (1/N) Σ_j Σ_{i>=j} A[i, j]², N = number of rows of P
  (it ignores LayerNorm, biases and the 1/√d_head scale). `practical(finite)` reads P, Wq, Wk from a
  model (a banded head's realized products included).
- `TheoreticalRegularizer`: a pluggable interface — any callable `finite -> RegularizerValue`
  (`name` attribute, `total` and named `parts`). The paper's R(T) is known only in outline [recon]: it grows
  with depth, heads, precision and parameter norms and charges positional–positional interactions. The
  documented default, `NormRegularizer`, is

      R(T) = L + H                                                       (architecture)
           + precision_bits / 64                                         (precision)
           + Σ_W ‖W‖                                                     (parameter norms)
           + max_i ‖p_i‖₂                                                (position vectors)
           + Σ_{l,h} max_i Σ_{j<=i} (1 + i − j)·|R_lh[i, j]|              (positional interaction)
           + #distinct rows of (p_i W_readᵀ)_{i=1..N}                    (positional information)

  where ‖W‖ = √(‖W‖₁‖W‖∞) (max column sum times max row sum: an upper bound on the spectral norm
  that does not grow with zero padding) over every weight matrix — embedding, unembedding, every
  head's query/key/value/output map (a banded head's query adds its Toeplitz block G, key adds the
  identity over the one-hot block: ‖I‖ = 1), SignNorm read/write, MLP in/out — plus the largest |bias|;
  and W_read stacks what reads the residual stream other than queries and keys (values, norms, MLPs,
  unembedding). The interaction term is SPEC §3's Σ_{j<=i} |p_jᵀKᵀQp_i| charged only for the part of the
  positional attention that is neither periodic nor local: R = A − A_per, where A[i, j] = p_iᵀQᵀKp_j + φ(j, i)
  (φ: a banded head's band) and A_per = (P_per Wq)(P_per Wk)ᵀ is the product of the table's periodic part
  (`periodic_part`: the whole table when its input rows 1..N repeat with some Δ <= N/2, else its exactly
  periodic coordinates when it splits as verify.limit.conditions.audit splits it, else nothing), a function of
  (i mod Δ, j mod Δ); each pair of R is weighted by its distance 1 + (i − j), so that R's local part (φ within
  τ) costs a constant while interaction at a distance growing with N (a copy head reading i − N/2) is charged
  as non-local, not priced like a previous-token head.

  Contract (checked in theorems/theorem9.py and tests): for every model satisfying PERIODIC and LOCAL —
  a periodic table (Δ <= N/2) whose heads add a local φ — every term is independent of N: A_per takes all of
  the table's products (a one-hot periodic table with an identity product costs nothing, however many
  same-residue pairs it links), R is φ within τ, norms of G are bounded by the band's ℓ1 norm, one positional
  row per residue class; so R(T_N) is bounded, for the banded realization of every compiled Limit Transformer
  too. A non-local head (φ ≡ 1, or a copy head at distance N/2) or a non-periodic table attended by position
  (a sinusoid of irrational period with an identity product) makes the interaction term grow, and a
  non-periodic positional read (an absolute one-hot APE, a sinusoid of irrational period) makes the
  information term grow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np

_BLOCK = 1024


def _products(P: np.ndarray, Wq: np.ndarray, Wk: np.ndarray):
    """(P Wq, P Wk) restricted to the head dimensions both maps use, or None when the product is 0."""
    nz_q, nz_k = np.flatnonzero(np.abs(Wq).sum(axis=0)), np.flatnonzero(np.abs(Wk).sum(axis=0))
    shared = np.intersect1d(nz_q, nz_k)
    if len(shared) == 0:
        return None
    rows = np.flatnonzero(np.abs(P).sum(axis=0))          # position coordinates in use
    PQ = P[:, rows] @ Wq[rows][:, shared]
    PK = P[:, rows] @ Wk[rows][:, shared]
    if not PQ.any() or not PK.any():
        return None
    return PQ, PK


def _dense_blocks(PQ: np.ndarray, PK: np.ndarray):
    """Yield (row range, A[rows, :rows_end]) of the causal product A = PQ PKᵀ, in blocks of query rows."""
    n = PQ.shape[0]
    for r0 in range(0, n, _BLOCK):
        r1 = min(n, r0 + _BLOCK)
        A = PQ[r0:r1] @ PK[:r1].T
        A = np.where(np.arange(r0, r1)[:, None] >= np.arange(r1)[None, :], A, 0.0)
        yield r0, r1, A


def _band_pairs(band: np.ndarray):
    """(i, k) index grids of a band (rows i = 0..N, offsets k), with the key row j = i − k valid."""
    i = np.arange(band.shape[0])[:, None]
    k = np.arange(band.shape[1])[None, :]
    return i, k, (i - k) >= 0


def practical_penalty(P: np.ndarray, heads: Sequence[Tuple[np.ndarray, np.ndarray]],
                      bands: Optional[Sequence[Optional[np.ndarray]]] = None) -> float:
    """Σ_{heads} (1/N) Σ_j Σ_{i>=j} A[i, j]² with A = (P Wq)(P Wk)ᵀ (+ the head's band); heads are (Wq, Wk),
    x @ W convention."""
    P = np.asarray(P, dtype=np.float64)
    total = 0.0
    bands = list(bands) if bands is not None else [None] * len(heads)
    for (Wq, Wk), band in zip(heads, bands):
        pr = _products(P, np.asarray(Wq, dtype=np.float64), np.asarray(Wk, dtype=np.float64))
        s = 0.0
        if pr is not None and band is None:
            s = sum(float((A ** 2).sum()) for _, _, A in _dense_blocks(*pr))
        elif pr is not None:
            # dense part and band on the same pairs: square the sum on the band, the rest as is
            for r0, r1, A in _dense_blocks(*pr):
                i, k, ok = _band_pairs(band[r0:r1])
                i = i + r0
                j = np.where(ok, i - k, 0)
                inside = A[i - r0, j] * ok
                s += float((A ** 2).sum() - (inside ** 2).sum() + ((inside + band[r0:r1] * ok) ** 2).sum())
        elif band is not None:
            i, k, ok = _band_pairs(band)
            s = float(((band * ok) ** 2).sum())
        total += s / P.shape[0]
    return total


def _heads(finite):
    return [h for layer in finite.layers for h in layer.heads]


def practical(finite) -> float:
    hs = _heads(finite)
    return practical_penalty(finite.positions, [(h.query.T, h.key.T) for h in hs], [h.band for h in hs])


@dataclass(frozen=True)
class RegularizerValue:
    total: float
    parts: Dict[str, float] = field(default_factory=dict)


class TheoreticalRegularizer(Protocol):
    name: str

    def __call__(self, finite) -> RegularizerValue: ...


def operator_norm(W: np.ndarray) -> float:
    """√(‖W‖₁‖W‖∞) >= the spectral norm; unchanged by zero rows/columns."""
    if W.size == 0:
        return 0.0
    A = np.abs(W)
    return float(math.sqrt(A.sum(axis=0).max() * A.sum(axis=1).max()))


def _band_operator_norm(band: np.ndarray) -> float:
    """√(‖G‖₁‖G‖∞) for G[j, i] = band[i, i − j]: column i sums band row i; row j sums the band's
    anti-diagonal entries band[j + k, k]."""
    i, k, ok = _band_pairs(band)
    A = np.abs(band) * ok
    col = A.sum(axis=1).max()
    n = band.shape[0]
    rows = np.zeros(n)
    for kk in range(band.shape[1]):      # τ + 1 offsets: vectorized over positions
        rows[: n - kk] += A[kk:, kk]
    return float(math.sqrt(col * rows.max()))


def periodic_part(P: np.ndarray, split_period: int = 64) -> Optional[np.ndarray]:
    """The table's periodic part P_per (what SPEC §2's PERIODIC asks of p_i, i >= 1): the whole table when rows
    1..N repeat with some Δ <= N/2; else the table with its non-periodic coordinates zeroed when it splits
    (verify.limit.conditions.split_periodic, Δ <= `split_period`: a periodic block beside a one-hot block, as
    the dense realization stores φ); else None. The BOS row 0 stays with its coordinates: its products with the
    periodic part depend on i mod Δ alone."""
    from verify.limit.conditions import periodicity, split_periodic
    P = np.asarray(P, dtype=np.float64)
    n = P.shape[0] - 1
    if n >= 2 and periodicity(P, max_period=max(1, n // 2), start=1).periodic:
        return P
    split = split_periodic(P, max_period=split_period, start=1)
    if split is None:
        return None
    kept = np.array(P)
    kept[:, list(split.remainder_columns)] = 0.0
    return kept


def interaction_charge(P: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, band: Optional[np.ndarray],
                       P_per: Optional[np.ndarray] = None) -> float:
    """max_i Σ_{j<=i} (1 + i − j)·|R[i, j]| with R = A − A_per, A = (P Wq)(P Wk)ᵀ + band and A_per = (P_per Wq)
    (P_per Wk)ᵀ, the product of the table's periodic part (`periodic_part`; None: nothing is periodic)."""
    pr = None if P_per is P else _products(P, Wq, Wk)
    per = None if P_per is None or P_per is P else _products(P_per, Wq, Wk)
    if per is not None:                          # R's product part: [PQ, −PQ_per] · [PK, PK_per]ᵀ
        pr = (-per[0], per[1]) if pr is None else (np.hstack([pr[0], -per[0]]), np.hstack([pr[1], per[1]]))
    if pr is None:
        if band is None:
            return 0.0
        i, k, ok = _band_pairs(band)
        return float(((1 + k) * np.abs(band) * ok).sum(axis=1).max())
    best = 0.0
    for r0, r1, A in _dense_blocks(*pr):
        if band is not None:
            i, k, ok = _band_pairs(band[r0:r1])
            A = A.copy()
            rows = (i + r0 - r0) * np.ones_like(k)
            cols = np.where(ok, i + r0 - k, 0)
            np.add.at(A, (rows[ok], cols[ok]), band[r0:r1][ok])
        dist = np.arange(r0, r1)[:, None] - np.arange(r1)[None, :]
        w = np.where(dist >= 0, 1.0 + dist, 0.0)
        best = max(best, float((w * np.abs(A)).sum(axis=1).max()))
    return best


def _distinct_rows(X: np.ndarray, tol: float = 1e-9) -> int:
    if X.shape[0] == 0:
        return 0
    if not X.size or not X.any():
        return 1
    return int(len(np.unique(np.round(X / tol) * tol, axis=0)))


@dataclass(frozen=True)
class NormRegularizer:
    """The default theoretical regularizer (see the module docstring)."""

    precision_bits: int = 64
    name: str = "norm+positional"

    def __call__(self, finite) -> RegularizerValue:
        P = np.asarray(finite.positions, dtype=np.float64)
        hs = _heads(finite)
        norms = operator_norm(finite.embedding) + operator_norm(finite.unembedding)
        biases = [0.0]
        reads: List[np.ndarray] = [finite.unembedding]
        interaction = 0.0
        P_per = periodic_part(P) if hs else None
        for h in hs:
            norms += operator_norm(h.query) + operator_norm(h.key) + operator_norm(h.value) + operator_norm(h.output)
            if h.band is not None:
                norms += _band_operator_norm(h.band) + 1.0
            interaction += interaction_charge(P, h.query.T, h.key.T, h.band, P_per)
            reads.append(h.value)
        for layer in finite.layers:
            if layer.norm is not None:
                norms += operator_norm(layer.norm.read) + operator_norm(layer.norm.write)
                biases.append(float(np.abs(layer.norm.bias).max(initial=0.0)))
                reads.append(layer.norm.read)
            if layer.mlp is not None:
                m = layer.mlp
                norms += operator_norm(m.w_in) + operator_norm(m.w_out)
                biases += [float(np.abs(m.b_in).max(initial=0.0)), float(np.abs(m.b_out).max(initial=0.0))]
                reads.append(m.w_in)
        W = np.concatenate(reads, axis=0)
        inputs = P[1:] if P.shape[0] > 1 else P           # input positions 1..N (row 0 is the BOS)
        used = np.flatnonzero(np.abs(inputs).sum(axis=0))  # the table's coordinates in use (Δ for one-hots)
        distinct_p = np.unique(np.round(inputs[:, used] / 1e-9) * 1e-9, axis=0)
        information = _distinct_rows(distinct_p @ W[:, used].T)   # distinct rows of P·Wᵀ, via P's distinct rows
        parts = {"architecture": float(finite.depth + finite.total_heads),
                 "precision": self.precision_bits / 64.0,
                 "parameter_norms": float(norms + max(biases)),
                 "position_norm": float(np.sqrt((P ** 2).sum(axis=1)).max()) if P.size else 0.0,
                 "positional_interaction": float(interaction),
                 "positional_information": float(information)}
        return RegularizerValue(float(sum(parts.values())), parts)


DEFAULT_THEORETICAL: TheoreticalRegularizer = NormRegularizer()


def tabulate(model, sizes: Sequence[int] = (64, 128, 256, 512, 1024, 2048, 4096),
             theoretical: Callable = DEFAULT_THEORETICAL) -> List[Dict[str, float]]:
    """Both regularizers of the banded T_N for every N (N below the model's Δ or τ is skipped)."""
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
    """A finite transformer whose one head has the positional term weight for every j <= i (φ ≡ weight:
    translation invariant, not local), stored as a full band: the positional interaction grows like N²."""
    from verify.limit.model import FiniteTransformer, Head, Layer
    d = 2
    i = np.arange(N + 1)[:, None]
    band = np.where(np.arange(N + 1)[None, :] <= i, weight, 0.0)
    head = Head(np.zeros((1, d)), np.zeros((1, d)), np.zeros((1, d)), np.zeros((d, 1)), band=band, name="non-local")
    return FiniteTransformer(alphabet=("a",), embedding=np.eye(3, d), positions=np.zeros((N + 1, d)),
                             layers=(Layer((head,)),), unembedding=np.zeros((1, d)), output_keys=("accept",),
                             context=N)


def copy_head_example(N: int, weight: float = 8.0):
    """A copy head: position i attends to i − ⌊N/2⌋ (the first half copied into the second), realized by a
    band whose only nonzero offset is N/2 — translation invariant, local for no fixed radius."""
    from verify.limit.model import FiniteTransformer, Head, Layer
    d = 2
    k = N // 2
    band = np.zeros((N + 1, k + 1))
    band[k:, k] = weight
    head = Head(np.zeros((1, d)), np.zeros((1, d)), np.array([[1.0, 0.0]]), np.zeros((d, 1)), band=band,
                name="copy i − N/2")
    return FiniteTransformer(alphabet=("a",), embedding=np.eye(3, d), positions=np.zeros((N + 1, d)),
                             layers=(Layer((head,)),), unembedding=np.zeros((1, d)), output_keys=("accept",),
                             context=N)


def absolute_onehot_example(N: int):
    """An absolute one-hot APE (p_i = e_i) read by a value map (the value is i/N): not periodic."""
    from verify.limit.model import FiniteTransformer, Head, Layer
    d = N + 1
    value = (np.arange(d) / N)[None, :]
    head = Head(np.zeros((1, d)), np.zeros((1, d)), value, np.zeros((d, 1)), name="reads i/N")
    return FiniteTransformer(alphabet=("a",), embedding=np.zeros((3, d)), positions=np.eye(d),
                             layers=(Layer((head,)),), unembedding=np.zeros((1, d)), output_keys=("accept",),
                             context=N)


def nonperiodic_example(N: int, frequency: float = 1.0):
    """A finite transformer whose position table is the sinusoid (cos ωi, sin ωi) with ω/2π irrational,
    read by a value map: every position is distinct, so the positional information grows with N."""
    from verify.limit.model import FiniteTransformer, Head, Layer
    i = np.arange(N + 1)
    P = np.stack([np.cos(frequency * i), np.sin(frequency * i)], axis=1)
    head = Head(np.zeros((1, 2)), np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.zeros((2, 1)), name="reads position")
    return FiniteTransformer(alphabet=("a",), embedding=np.zeros((3, 2)), positions=P, layers=(Layer((head,)),),
                             unembedding=np.zeros((1, 2)), output_keys=("accept",), context=N)


def _position_head_model(P: np.ndarray, N: int):
    """One head attending by position alone: query = key = the identity on the table's coordinates."""
    from verify.limit.model import FiniteTransformer, Head, Layer
    d = P.shape[1]
    head = Head(np.eye(d), np.eye(d), np.zeros((1, d)), np.zeros((d, 1)), name="positional attention")
    return FiniteTransformer(alphabet=("a",), embedding=np.zeros((3, d)), positions=P, layers=(Layer((head,)),),
                             unembedding=np.zeros((1, d)), output_keys=("accept",), context=N)


def periodic_identity_example(N: int, period: int = 3):
    """A one-hot periodic table (p_i = e_{i mod Δ}, the BOS row 0 zero) attended with the identity product:
    A[i, j] = [i ≡ j mod Δ] links pairs at every distance, yet it is all periodic part — PERIODIC, and LOCAL
    with φ = 0 — so R(T_N) must stay bounded."""
    P = np.zeros((N + 1, period))
    P[np.arange(1, N + 1), np.arange(1, N + 1) % period] = 1.0
    return _position_head_model(P, N)


def nonperiodic_attention_example(N: int, frequency: float = 1.0):
    """The sinusoid (cos ωi, sin ωi), ω/2π irrational, attended with the identity product: A[i, j] = cos ω(i − j),
    translation invariant but neither periodic nor local, so the interaction term grows."""
    i = np.arange(N + 1)
    return _position_head_model(np.stack([np.cos(frequency * i), np.sin(frequency * i)], axis=1), N)


COMPLIANT_EXAMPLES = (("a one-hot periodic table (Δ = 3) with identity product", periodic_identity_example),)
GROWING_EXAMPLES = (("a non-local head (φ ≡ 1)", nonlocal_example),
                    ("a copy head (attends to i − N/2)", copy_head_example),
                    ("an absolute one-hot APE read by a value", absolute_onehot_example),
                    ("a non-periodic table (sinusoid, ω = 1)", nonperiodic_example),
                    ("a non-periodic table attended by position (sinusoid, identity product)",
                     nonperiodic_attention_example))
