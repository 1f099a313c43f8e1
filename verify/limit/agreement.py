"""Does a compiled model compute its program? Outputs vs the interpreter, plus numeric margins.

Every comparison is a sign test on x = (C1 − C2 ± 1/2)/(i+1) (+ a BOS term). Its exact value is known
from the interpreter's integer counts, so for every run we measure
    margin = min |x_exact|        (at least 1/(2(n+1)): it shrinks with the length)
    error  = max |x_float − x_exact|
and call the outputs *separated* only where |error| < |x_exact| at every position (LayerNorm sign) or
slope·|x_float| >= 1 with the right sign (ReLU step). Agreement that is not separated is never reported
as holding. `float64_limit` gives the a-priori length beyond which float64 (or p-bit) rounding and the
guarded heads' softmax leak could no longer separate the smallest gap.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from verify.crasp.checks import END_MARKER
from verify.crasp.interpreter import evaluate
from verify.limit.forward import forward
from verify.limit.model import LimitTransformer
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Counterexample, Verdict

EPS64 = 2.0 ** -52


@dataclass(frozen=True)
class MarginReport:
    n: int
    batch: int
    min_margin: float          # min |x_exact| over input positions (inf without comparisons)
    max_error: float           # max |x_float − x_exact|
    min_ratio: float           # min |x_exact| / |x_float − x_exact| (inf where exact)
    separated: bool            # every sign test is decided by a margin above its error
    worst_op: Optional[int]    # the compare op with the smallest margin
    saturation: float = math.inf   # ReLU step: min slope·|x_float| (must be >= 1)


def _x_exact(model: LimitTransformer, ev, group, n: int) -> np.ndarray:
    op = model.program.ops[group.op]
    diff = ev.value(op.args[0]) - ev.value(op.args[1])
    x = (diff + group.shift) / np.arange(2, n + 2, dtype=np.float64)[None, :]
    bos = np.full((x.shape[0], 1), group.bos_value)
    return np.concatenate([bos, x], axis=1)


def measure(model: LimitTransformer, ids: np.ndarray, offset: int = 0, precision: str = "float64",
            result=None) -> Tuple[MarginReport, Dict[str, np.ndarray]]:
    """Run the model (with activations), return margins and its Boolean outputs."""
    if model.layout is None or model.program is None:
        raise ValueError("margins need a compiled model (with its layout and program)")
    ids = np.asarray(ids)
    batch, n = ids.shape
    groups = model.layout.compare_groups
    where = [f"layer {g.layer + 1} {g.stage}" for g in groups]
    probes = {}
    for w, g in zip(where, groups):
        probes.setdefault(w, []).append(g.read)
    slot, counter = [], {}
    for w in where:
        slot.append(counter.get(w, 0))
        counter[w] = slot[-1] + 1
    res = result or forward(model, ids, offset, precision, probes={k: np.stack(v) for k, v in probes.items()})
    ev = evaluate(model.program, ids, offset)
    min_margin, max_error, min_ratio, worst, saturation, separated = math.inf, 0.0, math.inf, None, math.inf, True
    for w, s, g in zip(where, slot, groups):
        x = np.asarray(res.probes[w][:, :, s], dtype=np.float64)
        exact = _x_exact(model, ev, g, n)
        err = np.abs(x - exact)
        margin = np.abs(exact[:, 1:]).min() if n else math.inf
        if margin < min_margin:
            min_margin, worst = float(margin), g.op
        e, r, ok, sat = comparison_scores(model, g.stage, x, exact)
        max_error, min_ratio, saturation = max(max_error, e), min(min_ratio, r), min(saturation, sat)
        separated &= ok
    return (MarginReport(n, batch, min_margin, max_error, min_ratio, separated, worst, saturation),
            res.outputs)


def comparison_scores(model: LimitTransformer, stage: str, x: np.ndarray, exact: np.ndarray):
    """One comparison's float64 values `x` against the exact values: (largest error, smallest
    |exact|/error, whether every sign test is separated, smallest saturation of a relu step).
    A LayerNorm ("norm") test is separated where the error stays below |exact|; a relu step where
    slope·|x| >= 1 with the exact sign. Shared by the batch check and the streamed check."""
    if not x.size:
        return 0.0, math.inf, True, math.inf
    err = np.abs(x - exact)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err > 0, np.abs(exact) / np.where(err > 0, err, 1), np.inf)
    if stage == "norm":
        return float(err.max()), float(ratio.min()), bool((err < np.abs(exact)).all()), math.inf
    sat = model.layout.slope * np.abs(x)
    return (float(err.max()), float(ratio.min()), bool(((sat >= 1) & (np.sign(x) == np.sign(exact))).all()),
            float(sat.min()))


def leak_bound(model: LimitTransformer, n: int) -> float:
    """Softmax mass a guarded head puts off its target at length n (verify.limit.leak's δ(n), in floats)."""
    from verify.limit.leak import leak_model
    lm = leak_model(model) if model.layout is not None else None
    if lm is None:
        return 0.0
    return math.exp(lm.log_delta(float(n)))


def float64_limit(model: LimitTransformer, eps: float = EPS64, cap: int = 2 ** 60) -> Optional[int]:
    """The largest length n at which every comparison's smallest gap 1/(2(n+1)) still exceeds its
    a-priori error bound (ReLU step: slope·(gap − error) >= 1). None when there is no comparison
    (nothing to separate); `cap` when the bound never bites below it."""
    lay = model.layout
    groups = lay.compare_groups
    if not groups:
        return None
    terms = []
    for g in groups:
        op = model.program.ops[g.op]
        k1, l1 = lay.error_terms.get(op.args[0], (0.0, 0.0))
        k2, l2 = lay.error_terms.get(op.args[1], (0.0, 0.0))
        terms.append((k1 + k2 + 1.0, l1 + l2))
    relu = lay.comparison == "relu"

    def ok(n: int) -> bool:
        gap = 0.5 / (n + 1)
        leak = leak_bound(model, n)
        for kappa, leaks in terms:
            err = kappa * (n + 2) * eps + leaks * leak
            if relu:
                if lay.slope * (gap - err) < 1:
                    return False
            elif not gap > err:
                return False
        return True

    if not ok(1):
        return 0
    lo, hi = 1, 2
    while hi < cap and ok(hi):
        lo, hi = hi, hi * 2
    if hi >= cap and ok(cap):
        return cap
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


# ------------------------------------------------------------------ input sets
def input_symbols(model: LimitTransformer) -> List[int]:
    """Ids the program can see: its alphabet, plus the end marker if it mentions it."""
    ids = list(range(len(model.alphabet)))
    if any(op.kind == "symbol" and op.param == END_MARKER for op in model.program.ops):
        ids.append(len(model.alphabet))
    return ids


def exhaustive_or_sampled(symbols: Sequence[int], n: int, rng: np.random.Generator, limit: int = 4096
                          ) -> Tuple[np.ndarray, bool]:
    """All words of length n over `symbols` if there are at most `limit`, else `limit` random ones."""
    k = len(symbols)
    if k ** n <= limit:
        words = np.array(list(itertools.product(symbols, repeat=n)), dtype=np.int64).reshape(-1, n)
        return words, True
    return np.asarray(symbols)[rng.integers(0, k, size=(limit, n))], False


@dataclass(frozen=True)
class AgreementScope:
    exhaustive_up_to: int = 12        # lengths 1..this: every word (binary) or `per_length` samples
    per_length: int = 4096
    long_lengths: Tuple[int, ...] = (100, 500, 2000)
    long_samples: int = 4
    offsets: Tuple[int, ...] = (0,)   # extra offsets are drawn from 1..Δ-1 when the model is periodic
    precision: str = "float64"
    seed: int = 0
    long_offsets: Tuple[int, ...] = (0,)   # every long length runs at each of these offsets
    memory: Optional[int] = None           # bytes one long run may take; longer runs are skipped, and listed
    one_offset_above: Optional[int] = None # longer lengths run at one offset each, cycling through long_offsets


def forward_bytes(model: LimitTransformer, batch: int, n: int) -> int:
    """A generous estimate of what one float64 forward pass plus the interpreter take (bytes)."""
    hidden = max([layer.mlp.w_in.shape[0] for layer in model.layers if layer.mlp is not None] + [0])
    heads = max([len(layer.heads) for layer in model.layers] + [0])
    ops = len(model.program.ops) if model.program is not None else 0
    groups = len(model.layout.compare_groups) if model.layout is not None else 0
    per_row = 1.5 * model.width + 2 * heads + hidden + 1.5 * ops + groups + 8   # measured: ~0.5–0.6 of this
    return int(8 * batch * (n + 1) * per_row)


def check_agreement(model: LimitTransformer, scope: AgreementScope = AgreementScope(), name: str = "",
                    batches: Optional[Iterable[Tuple[np.ndarray, int]]] = None) -> Verdict:
    """HOLDS: outputs equal the interpreter's and every sign test is separated, on the whole scope.
    REFUTED: a replayable counterexample. UNKNOWN: outputs equal but some margin is below the error."""
    rng = np.random.default_rng(scope.seed)
    symbols = input_symbols(model)
    names = list(model.alphabet) + [END_MARKER]
    offsets = list(scope.offsets)
    if model.period > 1:
        offsets += sorted(set(int(x) for x in rng.integers(1, model.period, size=2)))
    exhaustive_to = 0
    min_margin, max_error, min_ratio, worst_len = math.inf, 0.0, math.inf, 0
    unseparated = None
    runs = 0
    checked_long: List[int] = []
    long_runs: List[Tuple[int, Tuple[int, ...]]] = []
    skipped_long: List[Tuple[int, int]] = []

    def plan():
        nonlocal exhaustive_to
        for n in range(1, scope.exhaustive_up_to + 1):
            words, complete = exhaustive_or_sampled(symbols, n, rng, scope.per_length)
            if complete and exhaustive_to == n - 1:
                exhaustive_to = n
            for off in offsets:
                yield words, off
        for n in scope.long_lengths:
            need = forward_bytes(model, scope.long_samples, n)
            if scope.memory is not None and need > scope.memory:
                skipped_long.append((n, need))
                continue
            if model.context is not None and n + max(scope.long_offsets) > model.context:
                continue
            checked_long.append(n)
            offs = scope.long_offsets
            if scope.one_offset_above is not None and n > scope.one_offset_above:
                offs = (offs[(len(checked_long) - 1) % len(offs)],)
            long_runs.append((n, tuple(offs)))
            for off in offs:
                yield np.asarray(symbols)[rng.integers(0, len(symbols), size=(scope.long_samples, n))], off
        if batches is not None:
            yield from batches

    for words, off in plan():
        report, outs = measure(model, words, off, scope.precision)
        ev = evaluate(model.program, words, off)
        runs += len(words)
        for key in model.output_keys:
            want = ev.output(key)
            got = outs[key]
            bad = np.argwhere(want != got)
            if len(bad):
                b, i = bad[0]
                return Verdict(REFUTED, f"the compiled model of {name or 'the program'} computes it",
                               "forward pass vs interpreter", f"{runs} inputs so far",
                               Counterexample(tuple(names[t] for t in words[b]), int(i) + 1, bool(want[b, i]),
                                              bool(got[b, i]), f"output {key!r}, offset {off}"))
        if report.min_margin < min_margin:
            min_margin, worst_len = report.min_margin, words.shape[1]
        max_error = max(max_error, report.max_error)
        min_ratio = min(min_ratio, report.min_ratio)
        if not report.separated and unseparated is None:
            unseparated = (words.shape[1], report)
    limit = float64_limit(model, 2.0 ** -int(scope.precision.split(":")[1]) if scope.precision.startswith("bits:")
                          else EPS64)
    longest = max([scope.exhaustive_up_to, *checked_long])
    scope_text = (f"every word of length 1..{exhaustive_to} over {len(symbols)} symbols"
                  + (f", {scope.per_length} sampled words per length {exhaustive_to + 1}..{scope.exhaustive_up_to}"
                     if exhaustive_to < scope.exhaustive_up_to else "")
                  + (f", {scope.long_samples} random word{'s' if scope.long_samples > 1 else ''} of each length "
                     + "; ".join(f"{n} at offset{'s' if len(o) > 1 else ''} {', '.join(map(str, o))}"
                                 for n, o in long_runs) if long_runs else "")
                  + f"; short lengths at offsets {sorted(set(offsets))}; {scope.precision}"
                  + (f"; not run (over the memory budget): length " + ", ".join(
                      f"{n} (~{need / 2 ** 20:.0f} MiB)" for n, need in skipped_long) if skipped_long else ""))
    evidence = {"inputs": runs, "min_margin": min_margin, "max_error": max_error, "min_margin_to_error": min_ratio,
                "float64_limit": limit, "longest": longest, "smallest_margin_at_length": worst_len,
                "checked_long_lengths": checked_long, "skipped_long_lengths": [n for n, _ in skipped_long],
                "layers": model.depth, "heads": model.total_heads, "width": model.width,
                "period": model.period, "radius": model.radius}
    claim = f"the compiled model of {name or 'the program'} computes it"
    if unseparated is not None:
        n, rep = unseparated
        return Verdict(UNKNOWN, claim, "forward pass vs interpreter, with margins", scope_text,
                       reason=(f"outputs agree, but at length {n} a ReLU step is not saturated (min slope·|x| = "
                               f"{rep.saturation:.3g} < 1; gap {rep.min_margin:.3g}) — agreement there is not certified"
                               if model.layout.comparison == "relu" else
                               f"outputs agree, but at length {n} a comparison margin ({rep.min_margin:.3g}) is not "
                               f"above its numeric error ({rep.max_error:.3g}) — agreement there is not certified"),
                       evidence=evidence)
    return Verdict(HOLDS, claim, "forward pass vs interpreter on every output at every position; every sign test "
                                 "separated (|float error| < |exact margin|)", scope_text, evidence=evidence)
