"""The Limit Transformer (SPEC §2) and its finite realization, as plain frozen dataclasses of numpy arrays.

Stable interface (used by verify.comm and torch_bridge):

- `LimitTransformer`: token `embedding` (V × d), a periodic position table `positions` (Δ × d) with
  p_i = positions[i mod Δ] for every input position i ≥ 1, `layers`, an `unembedding` (outputs × d).
  Each `Layer` runs, in order and each with a residual connection: an attention sublayer (its `heads`),
  a `SignNorm` sublayer (LayerNorm without ε on pairs (x, −x)), and a ReLU `MLP`. Any of the three may be
  absent. Every `Head` has query/key/value maps (d_head × d), an output map (d × d_head) and an optional
  position-only logit term φ given as a table over relative offsets 0..τ (`phi[k]` = φ(j, i) for i − j = k);
  `phi_beyond` is φ for i − j > τ (nonzero there means the head is not LOCAL). Translation invariance of
  φ holds by construction of the table; a φ that is not a function of i − j cannot be stored here.
- `FiniteTransformer` (a LimitTransformer with `context` N set): an ordinary APE transformer whose
  `positions` is an explicit (N + 1) × d table indexed by absolute position (row 0 is the BOS position)
  and whose heads have no φ (position terms are realized by products of position vectors). A realized
  local φ is stored by its band (`Head.band`, O(N·τ)); `realize.densify` writes the same transformer
  with explicit one-hot position columns and (N + 1)-row query/key blocks.

Conventions [decision]: the BOS token sits at position 0 and carries no periodic positional vector
(Limit Transformer) / row 0 of the table (finite); input positions are 1..n, shifted by `offset`
(the BOS stays at 0). Attention is causal, softmax over j ≤ i including the BOS.

[recon] parameters, all fields of the model with documented defaults:
- `softmax_base` (default 2.0): attention weights ∝ base^(scaled logit). Base e is the usual softmax; base 2
  with integer logits keeps exact rational evaluation possible (the two differ by scaling logits by ln 2).
- `logit_scale`: "none" (default; factor 1), "inv_sqrt_dhead" (1/√d_head), "log_i" (ln of the number of
  attended positions, i.e. ln(t + 1) for the query at row t counting the BOS).
- `bos` (default True): whether a BOS position is prepended.
The precision model (float64, exact rationals, p-bit rounding) is an argument of `forward`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np

LOGIT_SCALES = ("none", "inv_sqrt_dhead", "log_i")


@dataclass(frozen=True, eq=False)
class Head:
    query: np.ndarray            # (d_head, d)
    key: np.ndarray              # (d_head, d)
    value: np.ndarray            # (d_value, d)
    output: np.ndarray           # (d, d_value)
    phi: Optional[np.ndarray] = None   # φ over offsets 0..τ, or None (no position term)
    phi_beyond: float = 0.0            # φ for offsets > τ (0 for a LOCAL head)
    name: str = ""
    # finite transformers only: the realized positional–positional logit term stored by its band,
    # band[i, k] = p_{i−k}ᵀKᵀQp_i for absolute positions i = 0..N and offsets k = 0..τ (0 beyond τ).
    # It is the sparse storage of query/key rows over a one-hot block of absolute positions
    # (verify.limit.realize.densify writes them out); O(N·τ) instead of (N+1)².
    band: Optional[np.ndarray] = None

    @property
    def radius(self) -> int:
        if self.band is not None:
            return self.band.shape[1] - 1
        return 0 if self.phi is None else len(self.phi) - 1

    @property
    def positional(self) -> bool:
        """The head has a position-only logit term (φ or a realized band)."""
        return self.phi is not None or self.band is not None or self.phi_beyond != 0.0

    @property
    def is_uniform(self) -> bool:
        """Constant logits (no content term, no φ): the head averages its values over j ≤ i."""
        return not self.positional and (not np.any(self.query) or not np.any(self.key))


@dataclass(frozen=True, eq=False)
class SignNorm:
    """LayerNorm without ε applied to each pair (x_g, −x_g), x = read @ y: it returns
    (sign x_g, −sign x_g) exactly, whatever |x_g| is (Yang & Chiang). The first component is written
    back: y += write @ sign(x) + bias. (x = 0 has no LayerNorm value; forward returns 0 and flags it.)"""

    read: np.ndarray             # (g, d)
    write: np.ndarray            # (d, g)
    bias: np.ndarray             # (d,)
    names: Tuple[str, ...] = ()  # one per group


@dataclass(frozen=True, eq=False)
class MLP:
    """y += w_out @ relu(w_in @ y + b_in) + b_out."""

    w_in: np.ndarray             # (h, d)
    b_in: np.ndarray             # (h,)
    w_out: np.ndarray            # (d, h)
    b_out: np.ndarray            # (d,)


@dataclass(frozen=True, eq=False)
class Layer:
    heads: Tuple[Head, ...] = ()
    norm: Optional[SignNorm] = None
    mlp: Optional[MLP] = None


@dataclass(frozen=True, eq=False)
class Layout:
    """What the compiler put where: names of the residual coordinates and, for every program
    operation, the linear functional of the residual stream that holds its value (Booleans as 0/1,
    counts normalized as C(i)/(i+1))."""

    coordinates: Tuple[str, ...]
    functionals: Dict[int, np.ndarray]          # op index -> (d,)
    kinds: Dict[int, str]                        # op index -> "bool" | "count"
    # every sign test: x = (C1 - C2 + shift)/(i+1) at input rows, bos_value at the BOS row
    compare_groups: Tuple["CompareGroup", ...]
    comparison: str = "layernorm"               # or "relu" (fixed-slope step)
    slope: float = 0.0                           # relu comparison slope
    # a-priori float error of each count op: |error| <= kappa·(n+2)·eps + leaks·leak(n)
    error_terms: Dict[int, Tuple[float, float]] = field(default_factory=dict)
    hardness: int = 0                            # λ: φ value at a guarded head's distance
    bos_bias: int = 0                            # μ: content logit of the BOS in guarded heads


@dataclass(frozen=True, eq=False)
class CompareGroup:
    layer: int                                   # 0-based layer
    stage: str                                   # "norm" (LayerNorm sign) or "mlp" (ReLU step)
    op: int                                      # the compare op (index in the StraightLine)
    shift: float                                 # ±1/2
    bos_value: float                             # x at the BOS row (±1/2: the Boolean is 0 there)
    read: np.ndarray                             # (d,) x = read · y


@dataclass(frozen=True, eq=False)
class LimitTransformer:
    alphabet: Tuple[str, ...]                    # program alphabet; vocab = alphabet + (END, BOS)
    embedding: np.ndarray                        # (V, d)
    positions: np.ndarray                        # (Δ, d) periodic table (finite: (N+1, d) absolute)
    layers: Tuple[Layer, ...]
    unembedding: np.ndarray                      # (outputs, d)
    output_keys: Tuple[str, ...]
    threshold: float = 0.5                       # an output is true where its score exceeds this
    bos: bool = True
    softmax_base: float = 2.0
    logit_scale: str = "none"
    layout: Optional[Layout] = None
    program: object = None                       # the StraightLine it was compiled from, if any
    context: Optional[int] = None                # None: Limit Transformer; N: finite transformer T_N
    notes: Tuple[str, ...] = ()

    # ------------------------------------------------------------- shape
    @property
    def width(self) -> int:
        return int(self.embedding.shape[1])

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def heads_per_layer(self) -> Tuple[int, ...]:
        return tuple(len(layer.heads) for layer in self.layers)

    @property
    def total_heads(self) -> int:
        return sum(self.heads_per_layer)

    @property
    def period(self) -> int:
        """Δ of the periodic position table (finite transformers: None-like 0)."""
        return 0 if self.context is not None else int(self.positions.shape[0])

    @property
    def radius(self) -> int:
        """τ: the largest offset with a stored φ value."""
        return max((h.radius for layer in self.layers for h in layer.heads), default=0)

    @property
    def vocab(self) -> Tuple[str, ...]:
        from verify.crasp.checks import END_MARKER
        return tuple(self.alphabet) + (END_MARKER, BOS_TOKEN)

    @property
    def bos_id(self) -> int:
        return len(self.alphabet) + 1

    def is_periodic(self) -> bool:
        """PERIODIC holds by representation for a Limit Transformer (p_i = positions[i mod Δ])."""
        return self.context is None

    def is_local(self) -> bool:
        """LOCAL: every head's φ vanishes beyond its table (translation invariance is structural)."""
        return all(h.phi_beyond == 0.0 for layer in self.layers for h in layer.heads)

    def parameter_count(self) -> int:
        n = self.embedding.size + self.positions.size + self.unembedding.size
        for layer in self.layers:
            for h in layer.heads:
                n += h.query.size + h.key.size + h.value.size + h.output.size
                n += 0 if h.phi is None else h.phi.size
                n += 0 if h.band is None else h.band.size
            if layer.norm is not None:
                n += layer.norm.read.size + layer.norm.write.size + layer.norm.bias.size
            if layer.mlp is not None:
                m = layer.mlp
                n += m.w_in.size + m.b_in.size + m.w_out.size + m.b_out.size
        return int(n)

    def describe(self) -> Dict[str, object]:
        return {"layers": self.depth, "heads": list(self.heads_per_layer), "width": self.width,
                "period": self.period if self.context is None else None, "radius": self.radius,
                "context": self.context, "bos": self.bos, "softmax_base": self.softmax_base,
                "logit_scale": self.logit_scale, "parameters": self.parameter_count(),
                "periodic": self.is_periodic(), "local": self.is_local()}


BOS_TOKEN = "⟨BOS⟩"  # the Limit Transformer's own start position; distinct from any task token


class FiniteTransformer(LimitTransformer):
    """Marker subclass for T_N (context set, explicit table, no φ). Constructed by realize().

    Heads realizing a local φ carry it as a `band` (see Head.band); `dense_width` is the width of the
    equivalent ordinary APE transformer, whose table appends a one-hot block of the N + 1 absolute
    positions (what verify.limit.realize.densify builds)."""

    @property
    def banded(self) -> bool:
        return any(h.band is not None for layer in self.layers for h in layer.heads)

    @property
    def dense_width(self) -> int:
        return self.width + (self.context + 1 if self.banded else 0)

    def dense_parameter_count(self) -> int:
        """Parameters of the dense form (every matrix widened to dense_width; a banded head's query
        and key gain N + 1 rows over the one-hot block) — what densify would allocate."""
        w, n1 = self.dense_width, (self.context + 1 if self.banded else 0)
        n = (self.embedding.shape[0] + self.positions.shape[0] + self.unembedding.shape[0]) * w
        for layer in self.layers:
            for h in layer.heads:
                extra = n1 if h.band is not None else 0
                n += (h.query.shape[0] + h.key.shape[0] + 2 * extra + h.value.shape[0] + h.output.shape[1]) * w
            if layer.norm is not None:
                n += (2 * layer.norm.read.shape[0] + 1) * w
            if layer.mlp is not None:
                n += (layer.mlp.w_in.shape[0] + layer.mlp.w_out.shape[1] + 1) * w + layer.mlp.b_in.size
        return int(n)
