"""Stage 3: plan — one residual coordinate per stored value, and the sublayer that writes it.

Every op's value is a *linear functional* of the residual stream (a dict coordinate -> coefficient):
- embedding coordinates: one-hot tokens ("tok:a", "tok:<bos>") and the periodic block "pos:r" holding a
  one-hot of i mod Δ (PERIODIC); the BOS has no positional vector, so every Boolean is 0 at the BOS;
- symbols, constants, `not`, periodic predicates, + − k· and integer constants are linear: no sublayer;
- `#[P]`: a uniform head (no content term, no φ) reading P: C(i)/(i+1) ("normalized count");
- "u" = 1/(i+1): a uniform head reading the BOS coordinate (layer 1);
- `#[P @ S]`: per distance k a head with φ(j,i) = λ·[i−j = k] and a BOS content logit μ reading P
  (≈ P(i−k), LOCAL), then an MLP unit relu(u + P(i−k) − 1) = P(i−k)/(i+1);
- comparisons: the sign of x = (C1 − C2 ± 1/2)/(i+1) (+ a BOS term) by LayerNorm on (x, −x) (exact at
  every length) or, with comparison="relu", clip(slope·x, −1, 1) by two ReLUs (fails once
  1/(2(i+1)) < 1/slope); the Boolean is an affine function of the sign(s);
- `and`: relu(P + Q − 1); `if P then C1 else C2`: C2 + P·C1 − P·C2 with P·c = relu(c+BP−B) − relu(−c+BP−B).
Each layer is attention (stage 0), SignNorm (stage 1), MLP (stage 2); an op goes into the earliest
sublayer of its kind after all it reads has been written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import lcm
from typing import Dict, List, Optional, Tuple

from verify.crasp.checks import END_MARKER
from verify.crasp.linear import StraightLine
from verify.limit.model import BOS_TOKEN

Functional = Dict[str, float]
ATTN, NORM, MLP_STAGE = 0, 1, 2


def lin(*pairs: Tuple[float, Functional]) -> Functional:
    out: Functional = {}
    for c, f in pairs:
        for k, v in f.items():
            out[k] = out.get(k, 0.0) + c * v
    return {k: v for k, v in out.items() if v != 0.0}


@dataclass
class HeadSpec:
    name: str
    query: Functional
    key: Functional
    value: Functional
    out: str
    phi: Optional[Tuple[int, float]] = None      # (distance k, λ): φ = λ·[i − j = k]


@dataclass
class NormSpec:
    op: int
    read: Functional
    out: str
    shift: float
    bos_value: float            # x at the BOS row


@dataclass
class UnitSpec:
    read: Functional
    bias: float
    writes: Functional


@dataclass
class LayerSpec:
    heads: List[HeadSpec] = field(default_factory=list)
    norms: List[NormSpec] = field(default_factory=list)
    units: List[UnitSpec] = field(default_factory=list)
    out_bias: Functional = field(default_factory=dict)
    relu_compares: List[NormSpec] = field(default_factory=list)   # comparison="relu": read before the MLP


@dataclass
class Plan:
    line: StraightLine
    period: int
    vocab: Tuple[str, ...]
    coordinates: List[str]
    layers: List[LayerSpec]
    functionals: Dict[int, Functional]
    kinds: Dict[int, str]
    embedding: Dict[str, Functional]              # token -> coordinates set by its embedding


# (shift, BOS coefficient) of each sign test and the Boolean as (coef of "one", coef of "true", signs)
_TESTS = {
    "<": ([(0.5, 0.0)], 0.5, 0.0, [-0.5]),
    "<=": ([(-0.5, 1.0)], 0.5, 0.0, [-0.5]),
    ">": ([(-0.5, 0.0)], 0.5, 0.0, [0.5]),
    ">=": ([(0.5, -1.0)], 0.5, 0.0, [0.5]),
    "==": ([(0.5, 0.0), (-0.5, 1.0)], 0.0, 0.0, [0.5, -0.5]),
    "!=": ([(0.5, 0.0), (-0.5, 1.0)], 0.0, 1.0, [-0.5, 0.5]),
}


class Planner:
    def __init__(self, line: StraightLine, options, bounds: Dict[int, float]):
        self.line, self.options, self.bounds = line, options, bounds
        self.period = lcm(1, *(op.param[0] for op in line.ops if op.kind == "periodic"))
        self.vocab = tuple(line.alphabet) + (END_MARKER, BOS_TOKEN)
        self.coordinates: List[str] = []
        self.ready: Dict[str, int] = {}
        self.layers: List[LayerSpec] = []
        self.functionals: Dict[int, Functional] = {}
        self.kinds: Dict[int, str] = {}
        for tok in self.vocab:
            self.coord(f"tok:{tok}", -1)
        for r in range(self.period):
            self.coord(f"pos:{r}", -1)
        self.true = {f"tok:{t}": 1.0 for t in self.vocab if t != BOS_TOKEN}   # 1 except at the BOS
        self.one = {f"tok:{t}": 1.0 for t in self.vocab}                      # 1 everywhere
        self.u = {"u": 1.0}
        self.coord("u", self.time(0, ATTN))
        self.layer(0).heads.append(HeadSpec("u = 1/(i+1)", {}, {}, {f"tok:{BOS_TOKEN}": 1.0}, "u"))

    # ------------------------------------------------------------ bookkeeping
    @staticmethod
    def time(layer: int, stage: int) -> int:
        return 3 * layer + stage

    def coord(self, name: str, ready: int) -> str:
        assert name not in self.ready, name
        self.coordinates.append(name)
        self.ready[name] = ready
        return name

    def layer(self, index: int) -> LayerSpec:
        while len(self.layers) <= index:
            self.layers.append(LayerSpec())
        return self.layers[index]

    def place(self, stage: int, *reads: Functional) -> int:
        """The earliest layer whose `stage` sublayer comes after everything `reads` depends on."""
        t = max([-1] + [self.ready[c] for f in reads for c in f])
        layer = 0
        while self.time(layer, stage) <= t:
            layer += 1
        return layer

    # ------------------------------------------------------------ operations
    def run(self) -> Plan:
        f = self.functionals
        for op in self.line.ops:
            a = [f[i] for i in op.args]
            k, name = op.kind, f"op{op.index}"
            self.kinds[op.index] = op.type
            if k == "symbol":
                f[op.index] = {f"tok:{op.param}": 1.0}
            elif k == "bool_const":
                f[op.index] = dict(self.true) if op.param else {}
            elif k == "not":
                f[op.index] = lin((1.0, self.true), (-1.0, a[0]))
            elif k == "periodic":
                m, residues = op.param
                f[op.index] = {f"pos:{r}": 1.0 for r in range(self.period) if r % m in residues}
            elif k == "int_const":
                f[op.index] = lin((float(op.param), self.u))
            elif k == "add":
                f[op.index] = lin((1.0, a[0]), (1.0, a[1]))
            elif k == "sub":
                f[op.index] = lin((1.0, a[0]), (-1.0, a[1]))
            elif k == "scale":
                f[op.index] = lin((float(op.param), a[0]))
            elif k == "and":
                layer = self.place(MLP_STAGE, a[0], a[1])
                self.coord(name, self.time(layer, MLP_STAGE))
                self.layer(layer).units.append(UnitSpec(lin((1.0, a[0]), (1.0, a[1])), -1.0, {name: 1.0}))
                f[op.index] = {name: 1.0}
            elif k == "count":
                layer = self.place(ATTN, a[0])
                self.coord(name, self.time(layer, ATTN))
                self.layer(layer).heads.append(HeadSpec(f"#[%{op.args[0]}]", {}, {}, a[0], name))
                f[op.index] = {name: 1.0}
            elif k == "guarded_count":
                f[op.index] = self.guarded(op, a[0], name)
            elif k == "compare":
                f[op.index] = self.compare(op, lin((1.0, a[0]), (-1.0, a[1])), name)
            elif k == "ite":
                f[op.index] = self.ite(op, a, name)
            else:  # or/min/max are rewritten by admit(); nothing else exists
                raise AssertionError(k)
        embedding = {tok: {f"tok:{tok}": 1.0} for tok in self.vocab}
        return Plan(self.line, self.period, self.vocab, self.coordinates, self.layers,
                    self.functionals, self.kinds, embedding)

    def guarded(self, op, operand: Functional, name: str) -> Functional:
        lam, mu = self.options.hardness, self.options.bos_bias
        layer = self.place(ATTN, operand)
        total: Functional = {}
        for dist in op.param:
            raw = self.coord(f"{name}.raw{dist}", self.time(layer, ATTN))
            self.layer(layer).heads.append(HeadSpec(
                f"#[%{op.args[0]} @ {dist}]", {k: float(mu) for k in self.one}, {f"tok:{BOS_TOKEN}": 1.0},
                operand, raw, (dist, float(lam))))
            g = self.coord(f"{name}.g{dist}", self.time(layer, MLP_STAGE))
            self.layer(layer).units.append(UnitSpec({"u": 1.0, raw: 1.0}, -1.0, {g: 1.0}))
            total[g] = 1.0
        return total

    def compare(self, op, difference: Functional, name: str) -> Functional:
        tests, one_c, true_c, sign_c = _TESTS[op.param]
        relu = self.options.comparison == "relu"
        stage = MLP_STAGE if relu else NORM
        layer = self.place(stage, difference, self.u)
        boolean = lin((one_c, self.one), (true_c, self.true))
        # at the BOS every count is 0 except integer constants (k·u with u = 1): that is D's value there
        at_bos = difference.get("u", 0.0) + difference.get(f"tok:{BOS_TOKEN}", 0.0)
        for t, ((shift, bos_coef), c) in enumerate(zip(tests, sign_c)):
            # x at the BOS must be shift + bos_coef (= ±1/2) so that the Boolean is 0 there
            x = lin((1.0, difference), (shift, self.u), (bos_coef - at_bos, {f"tok:{BOS_TOKEN}": 1.0}))
            s = self.coord(f"{name}.s{t}", self.time(layer, stage))
            spec = NormSpec(op.index, x, s, shift, shift + bos_coef)
            if relu:  # clip(slope·x, −1, 1) = relu(slope·x + 1) − relu(slope·x − 1) − 1
                sl = float(self.options.slope)
                self.layer(layer).units.append(UnitSpec(lin((sl, x)), 1.0, {s: 1.0}))
                self.layer(layer).units.append(UnitSpec(lin((sl, x)), -1.0, {s: -1.0}))
                ob = self.layer(layer).out_bias
                ob[s] = ob.get(s, 0.0) - 1.0
                self.layer(layer).relu_compares.append(spec)
            else:
                self.layer(layer).norms.append(spec)
            boolean = lin((1.0, boolean), (c, {s: 1.0}))
        return boolean

    def ite(self, op, a, name: str) -> Functional:
        cond, c1, c2 = a
        big = self.bounds.get(op.args[1], 1.0) + self.bounds.get(op.args[2], 1.0) + 1.0
        layer = self.place(MLP_STAGE, cond, c1, c2)
        self.coord(name, self.time(layer, MLP_STAGE))
        units = self.layer(layer).units
        for c, sign in ((c1, 1.0), (c2, -1.0)):   # + P·c1 − P·c2
            units.append(UnitSpec(lin((1.0, c), (big, cond)), -big, {name: sign}))
            units.append(UnitSpec(lin((-1.0, c), (big, cond)), -big, {name: -sign}))
        return lin((1.0, c2), (1.0, {name: 1.0}))


def plan(line: StraightLine, options, bounds: Dict[int, float]) -> Plan:
    return Planner(line, options, bounds).run()
