"""Finite realization T_N of a Limit Transformer (SPEC §2): an ordinary APE transformer, no φ.

Stable interface (torch_bridge exports it):

    finite = realize(model, N)      # a FiniteTransformer: context N, positions (N+1) × d'

Construction: the position table keeps the periodic part, p_i = positions[i mod Δ] for i = 1..N (row 0,
the BOS, has none) and, when some head has a φ, appends a one-hot block e_i of the absolute position
(i = 0..N, the BOS at 0). A head with φ gets d_head + N + 1 query/key rows: its extra query rows map e_i to
G e_i with G[j, i] = φ(i − j) for j ≤ i, its extra key rows copy e_j, so p_jᵀKᵀQp_i = φ(i − j) on every
causal pair up to N — exactly, and 0 beyond the radius. The width grows with N, which is unavoidable
for an exact realization of a local φ (lower-triangular Toeplitz matrices have rank ~N). Nothing else
changes, so T_N computes what the Limit Transformer computes on every input of length <= N (checked,
not assumed: `check_realization`).
"""
from __future__ import annotations

import numpy as np

from verify.limit.model import FiniteTransformer, Head, Layer, LimitTransformer
from verify.problems import UserError


def realize(model: LimitTransformer, N: int) -> FiniteTransformer:
    if model.context is not None:
        raise UserError("this model is already finite (context N = %d)" % model.context)
    if not isinstance(N, int) or N < 1:
        raise UserError(f"the context size N must be a positive integer, not {N!r}")
    period, radius = model.positions.shape[0], model.radius
    if N < period:
        raise UserError(f"context N = {N} is smaller than the period Δ = {period}: T_N could not show a whole "
                        f"period of the position table; use N >= {period}")
    if N < radius + 1:
        raise UserError(f"context N = {N} is too small for the radius τ = {radius}: use N >= {radius + 1}")
    local = any(h.phi is not None for layer in model.layers for h in layer.heads)
    d = model.width
    extra = N + 1 if local else 0
    width = d + extra
    positions = np.zeros((N + 1, width))
    rows = np.arange(1, N + 1)
    positions[1:, :d] = model.positions[rows % period]
    if local:
        positions[np.arange(N + 1), d + np.arange(N + 1)] = 1.0

    def widen(a: np.ndarray) -> np.ndarray:          # (k, d) -> (k, width)
        return np.concatenate([a, np.zeros((a.shape[0], extra))], axis=1) if extra else a

    layers = []
    for layer in model.layers:
        heads = []
        for h in layer.heads:
            query, key = widen(h.query), widen(h.key)
            if h.phi is not None:
                offsets = np.arange(N + 1)[None, :] - np.arange(N + 1)[:, None]   # [j, i] -> i − j
                inside = (offsets >= 0) & (offsets <= h.radius)
                G = np.where(inside, h.phi[np.clip(offsets, 0, h.radius)],
                             np.where(offsets > h.radius, h.phi_beyond, 0.0))
                gq = np.zeros((N + 1, width))
                gq[:, d:] = G                                 # query row j reads φ(i − j) from e_i
                gk = np.zeros((N + 1, width))
                gk[:, d:] = np.eye(N + 1)
                query, key = np.concatenate([query, gq]), np.concatenate([key, gk])
            heads.append(Head(query, key, widen(h.value), np.concatenate(
                [h.output, np.zeros((extra, h.output.shape[1]))]) if extra else h.output, name=h.name))
        norm = layer.norm
        if norm is not None and extra:
            norm = type(norm)(widen(norm.read), np.concatenate([norm.write, np.zeros((extra, norm.write.shape[1]))]),
                              np.concatenate([norm.bias, np.zeros(extra)]), norm.names)
        mlp = layer.mlp
        if mlp is not None and extra:
            mlp = type(mlp)(widen(mlp.w_in), mlp.b_in, np.concatenate([mlp.w_out, np.zeros((extra, mlp.w_out.shape[1]))]),
                            np.concatenate([mlp.b_out, np.zeros(extra)]))
        layers.append(Layer(tuple(heads), norm, mlp))
    layout = model.layout
    if layout is not None and extra:
        from dataclasses import replace
        layout = replace(layout, coordinates=layout.coordinates + tuple(f"abs:{i}" for i in range(N + 1)),
                         functionals={k: np.concatenate([v, np.zeros(extra)]) for k, v in layout.functionals.items()},
                         compare_groups=tuple(replace(g, read=np.concatenate([g.read, np.zeros(extra)]))
                                              for g in layout.compare_groups))
    return FiniteTransformer(alphabet=model.alphabet, embedding=widen(model.embedding), positions=positions,
                             layers=tuple(layers), unembedding=widen(model.unembedding),
                             output_keys=model.output_keys, threshold=model.threshold, bos=model.bos,
                             softmax_base=model.softmax_base, logit_scale=model.logit_scale, layout=layout,
                             program=model.program, context=N,
                             notes=(f"T_{N}: periodic table of period {period}"
                                    + (f" + one-hot of the absolute position (N + 1 = {N + 1} columns) realizing "
                                       f"φ of radius {radius}" if local else ""),))


def position_products(finite: FiniteTransformer, layer: int, head: int) -> np.ndarray:
    """M[i, j] = p_iᵀ Qᵀ K p_j for positions 0..N (the positional–positional logit term)."""
    h = finite.layers[layer].heads[head]
    return (finite.positions @ h.query.T) @ (finite.positions @ h.key.T).T
