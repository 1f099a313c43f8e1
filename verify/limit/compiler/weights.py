"""Stage 4: weights — turn the plan's named functionals into the model's arrays."""
from __future__ import annotations

from typing import Dict

import numpy as np

from verify.limit.compiler.plan import Functional, Plan
from verify.limit.model import MLP, CompareGroup, Head, Layer, Layout, SignNorm


class _Coords:
    def __init__(self, names):
        self.index = {n: i for i, n in enumerate(names)}
        self.d = len(names)

    def vector(self, f: Functional) -> np.ndarray:
        v = np.zeros(self.d)
        for k, c in f.items():
            v[self.index[k]] += c
        return v


def build_arrays(plan: Plan, options, error_terms) -> Dict[str, object]:
    co = _Coords(plan.coordinates)
    d = co.d
    embedding = np.stack([co.vector(plan.embedding[t]) for t in plan.vocab])
    positions = np.stack([co.vector({f"pos:{r}": 1.0}) for r in range(plan.period)])
    layers, groups = [], []
    for li, spec in enumerate(plan.layers):
        heads = []
        for h in spec.heads:
            phi = None
            if h.phi is not None:
                dist, lam = h.phi
                phi = np.zeros(dist + 1)
                phi[dist] = lam
            heads.append(Head(query=co.vector(h.query)[None], key=co.vector(h.key)[None],
                              value=co.vector(h.value)[None], output=co.vector({h.out: 1.0})[:, None],
                              phi=phi, name=h.name))
        norm = None
        if spec.norms:
            read = np.stack([co.vector(n.read) for n in spec.norms])
            write = np.stack([co.vector({n.out: 1.0}) for n in spec.norms], axis=1)
            norm = SignNorm(read, write, np.zeros(d), tuple(n.out for n in spec.norms))
            groups += [CompareGroup(li, "norm", n.op, n.shift, n.bos_value, co.vector(n.read)) for n in spec.norms]
        groups += [CompareGroup(li, "mlp", n.op, n.shift, n.bos_value, co.vector(n.read))
                   for n in spec.relu_compares]
        mlp = None
        if spec.units:
            w_in = np.stack([co.vector(u.read) for u in spec.units])
            b_in = np.array([u.bias for u in spec.units])
            w_out = np.stack([co.vector(u.writes) for u in spec.units], axis=1)
            mlp = MLP(w_in, b_in, w_out, co.vector(spec.out_bias))
        layers.append(Layer(tuple(heads), norm, mlp))
    outputs = plan.line.outputs
    unembedding = np.stack([co.vector(plan.functionals[i]) for _, i in outputs]) if outputs else np.zeros((0, d))
    layout = Layout(coordinates=tuple(plan.coordinates),
                    functionals={i: co.vector(f) for i, f in plan.functionals.items()},
                    kinds=dict(plan.kinds), compare_groups=tuple(groups),
                    comparison=options.comparison,
                    slope=float(options.slope) if options.comparison == "relu" else 0.0,
                    error_terms=error_terms, hardness=options.hardness, bos_bias=options.bos_bias)
    return dict(embedding=embedding, positions=positions, layers=tuple(layers), unembedding=unembedding,
                output_keys=tuple(k for k, _ in outputs), layout=layout)
