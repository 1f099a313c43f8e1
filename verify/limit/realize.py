"""Finite realization T_N of a Limit Transformer (SPEC §2): an ordinary APE transformer, no φ.

Stable interface (torch_bridge exports it):

    finite = realize(model, N)              # a FiniteTransformer, local heads stored by their bands
    dense = realize(model, N, dense=True)   # the same transformer with explicit (N+1)-row blocks
    dense = densify(finite)                 # ditto, from a banded one
    realize_bytes(model, N, dense)          # memory estimate, checked before allocating

Construction: the position table keeps the periodic part, p_i = positions[i mod Δ] for i = 1..N (row 0,
the BOS, has none) and, when some head has a φ, the dense form appends a one-hot block e_i of the absolute
position (i = 0..N, the BOS at 0). A head with φ gets d_head + N + 1 query/key rows: its extra query rows
map e_i to G e_i with G[j, i] = φ(i − j) for j ≤ i, its extra key rows copy e_j, so
p_jᵀKᵀQp_i = φ(i − j) on every causal pair up to N — exactly, and 0 beyond the radius. The width grows
with N, which is unavoidable for an exact realization of a local φ (lower-triangular Toeplitz matrices
have rank ~N). G is zero off its band, so the default (banded) form stores only the band,
band[i, k] = G[i − k, i] for k = 0..τ: O(N·τ) numbers instead of 2(N+1)² per head, and the forward pass
reads it directly. Nothing else changes, so T_N computes what the Limit Transformer computes on every
input of length <= N (checked, not assumed: verify.limit.agreement).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from verify.limit.model import FiniteTransformer, Head, Layer, LimitTransformer
from verify.problems import UserError


def _check(model: LimitTransformer, N) -> None:
    if model.context is not None:
        raise UserError("this model is already finite (context N = %d)" % model.context)
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise UserError(f"the context size N must be a positive integer, not {N!r}")
    period, radius = model.positions.shape[0], model.radius
    if N < period:
        raise UserError(f"context N = {N} is smaller than the period Δ = {period}: T_N could not show a whole "
                        f"period of the position table; use N >= {period}")
    if N < radius + 1:
        raise UserError(f"context N = {N} is too small for the radius τ = {radius}: use N >= {radius + 1}")


def realize_bytes(model: LimitTransformer, N: int, dense: bool = False) -> int:
    """Bytes the realization allocates (float64), computed from shapes alone."""
    d = model.width
    local = [h for layer in model.layers for h in layer.heads if h.positional]
    base = (N + 1) * d + model.parameter_count()
    if not dense:
        return 8 * (base + sum((N + 1) * (h.radius + 1) for h in local))
    w = d + (N + 1 if local else 0)
    per_width = (model.embedding.shape[0] + N + 1 + model.unembedding.shape[0]
                 + sum(h.query.shape[0] + h.key.shape[0] + h.value.shape[0] + h.output.shape[1]
                       for layer in model.layers for h in layer.heads)
                 + sum(2 * layer.norm.read.shape[0] + 1 for layer in model.layers if layer.norm is not None)
                 + sum(layer.mlp.w_in.shape[0] + layer.mlp.w_out.shape[1] + 1
                       for layer in model.layers if layer.mlp is not None))
    return 8 * (w * per_width + 2 * len(local) * (N + 1) * w)


def _band(h: Head, N: int) -> np.ndarray:
    """band[i, k] = φ(k) where the key position i − k >= 0 exists, else 0."""
    i = np.arange(N + 1)[:, None]
    k = np.arange(h.radius + 1)[None, :]
    return np.where(k <= i, h.phi[None, :], 0.0)


def realize(model: LimitTransformer, N: int, dense: bool = False) -> FiniteTransformer:
    _check(model, N)
    N = int(N)
    period, radius = model.positions.shape[0], model.radius
    positions = np.zeros((N + 1, model.width))
    positions[1:] = model.positions[np.arange(1, N + 1) % period]
    layers = []
    for layer in model.layers:
        heads = []
        for h in layer.heads:
            if h.phi_beyond != 0.0:
                # not LOCAL: no band; realized densely below (only small N reach here: see realize_bytes)
                heads.append(h)
            elif h.phi is not None:
                heads.append(Head(h.query, h.key, h.value, h.output, name=h.name, band=_band(h, N)))
            else:
                heads.append(h)
        layers.append(Layer(tuple(heads), layer.norm, layer.mlp))
    local = any(h.positional for layer in model.layers for h in layer.heads)
    finite = FiniteTransformer(alphabet=model.alphabet, embedding=model.embedding, positions=positions,
                               layers=tuple(layers), unembedding=model.unembedding,
                               output_keys=model.output_keys, threshold=model.threshold, bos=model.bos,
                               softmax_base=model.softmax_base, logit_scale=model.logit_scale, layout=model.layout,
                               program=model.program, context=N,
                               notes=(f"T_{N}: periodic table of period {period}"
                                      + (f"; φ of radius {radius} realized by positional products over a one-hot "
                                         f"block of the N + 1 = {N + 1} absolute positions" if local else ""),))
    nonlocal_heads = any(h.phi_beyond != 0.0 for layer in model.layers for h in layer.heads)
    return densify(finite, phi_heads=True) if dense or nonlocal_heads else finite


def _full_G(h: Head, N: int) -> np.ndarray:
    """G[j, i] = positional logit term between key position j and query position i (0 where j > i)."""
    offsets = np.arange(N + 1)[None, :] - np.arange(N + 1)[:, None]          # [j, i] -> i − j
    if h.band is not None:
        tau = h.radius
        inside = (offsets >= 0) & (offsets <= tau)
        i = np.broadcast_to(np.arange(N + 1)[None, :], offsets.shape)
        return np.where(inside, h.band[i, np.clip(offsets, 0, tau)], 0.0)
    inside = (offsets >= 0) & (offsets <= h.radius)
    return np.where(inside, h.phi[np.clip(offsets, 0, h.radius)], np.where(offsets > h.radius, h.phi_beyond, 0.0))


def densify(finite: FiniteTransformer, phi_heads: bool = False) -> FiniteTransformer:
    """The same T_N as an ordinary dense APE transformer: one-hot absolute-position columns appended to
    the table and (N + 1) query/key rows per banded head (or, with phi_heads, per head with φ)."""
    N = finite.context

    def carries(h: Head) -> bool:
        return h.band is not None or (phi_heads and h.positional)

    if not any(carries(h) for layer in finite.layers for h in layer.heads):
        return finite
    d = finite.width
    extra = N + 1
    width = d + extra
    positions = np.zeros((N + 1, width))
    positions[:, :d] = finite.positions
    positions[np.arange(N + 1), d + np.arange(N + 1)] = 1.0

    def widen(a: np.ndarray) -> np.ndarray:          # (k, d) -> (k, width)
        return np.concatenate([a, np.zeros((a.shape[0], extra))], axis=1)

    def tall(a: np.ndarray) -> np.ndarray:           # (d, k) -> (width, k)
        return np.concatenate([a, np.zeros((extra, a.shape[1]))])

    layers = []
    for layer in finite.layers:
        heads = []
        for h in layer.heads:
            query, key = widen(h.query), widen(h.key)
            if carries(h):
                gq = np.zeros((N + 1, width))
                gq[:, d:] = _full_G(h, N)                     # query row j reads G[j, i] from e_i
                gk = np.zeros((N + 1, width))
                gk[:, d:] = np.eye(N + 1)
                query, key = np.concatenate([query, gq]), np.concatenate([key, gk])
            heads.append(Head(query, key, widen(h.value), tall(h.output), name=h.name))
        norm = layer.norm
        if norm is not None:
            norm = type(norm)(widen(norm.read), tall(norm.write), np.concatenate([norm.bias, np.zeros(extra)]),
                              norm.names)
        mlp = layer.mlp
        if mlp is not None:
            mlp = type(mlp)(widen(mlp.w_in), mlp.b_in, tall(mlp.w_out), np.concatenate([mlp.b_out, np.zeros(extra)]))
        layers.append(Layer(tuple(heads), norm, mlp))
    layout = finite.layout
    if layout is not None:
        layout = replace(layout, coordinates=layout.coordinates + tuple(f"abs:{i}" for i in range(N + 1)),
                         functionals={k: np.concatenate([v, np.zeros(extra)]) for k, v in layout.functionals.items()},
                         compare_groups=tuple(replace(g, read=np.concatenate([g.read, np.zeros(extra)]))
                                              for g in layout.compare_groups))
    return FiniteTransformer(alphabet=finite.alphabet, embedding=widen(finite.embedding), positions=positions,
                             layers=tuple(layers), unembedding=widen(finite.unembedding),
                             output_keys=finite.output_keys, threshold=finite.threshold, bos=finite.bos,
                             softmax_base=finite.softmax_base, logit_scale=finite.logit_scale, layout=layout,
                             program=finite.program, context=N,
                             notes=finite.notes + (f"dense form: width {width}",))


def position_products(finite: FiniteTransformer, layer: int, head: int) -> np.ndarray:
    """M[i, j] = p_iᵀ Qᵀ K p_j for positions 0..N (the positional–positional logit term), band included."""
    h = finite.layers[layer].heads[head]
    M = (finite.positions @ h.query.T) @ (finite.positions @ h.key.T).T
    if h.band is not None:
        M = M + _full_G(h, finite.context).T
    return M
