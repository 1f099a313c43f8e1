"""What `verify compile` certifies, kept apart as the theory keeps it apart (SPEC §2):

(a) the Limit Transformer, infinite context, exact arithmetic: the construction (compiler/plan.py)
    plus the leak obligation of verify.limit.leak — proved symbolically for every length (log-scaled
    attention, LayerNorm sign), or with an exact finite horizon (fixed logits: `--logit-scale none`,
    ReLU-step comparisons) — and an exact-rational forward pass equal to the interpreter on short inputs;
(b) its float64 evaluation: the a-priori horizon H (rounding κ(n+2)ε plus leak below the margin
    1/(2(n+1)), and every program value inside float64's exact integers), and the float64 forward pass
    equal to the interpreter, every sign test separated, on every short word and on one random long word
    of each length N (offsets 0, 7, 1000003), 16·N and near H (H itself up to 2^20, else the largest power
    of two <= H), streamed (verify.limit.stream: O(block·width) memory, linear time) so that neither
    length nor width is bounded by memory. 16·N runs at one offset always; the run near H and the other
    offsets of 16·N run while the `long_seconds` budget lasts (estimated from the measured rate), and
    every length or offset left out is named with its reason;
(c) the finite realization T_N: inputs of length <= N only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from verify.limit.agreement import AgreementScope, check_agreement, float64_limit, input_symbols
from verify.limit.leak import LeakProof, compare_leaks, prove, relu_horizon
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Verdict

LONG_OFFSETS = (0, 7, 1_000_003)
LONG_SECONDS = 2.0                     # default time for the streamed runs beyond N at every offset and 16·N at one
LONGEST_STREAM = 1 << 30               # the longest streamed run when nothing else bounds it (no horizon)
EXACT_HORIZON_RUN = 1 << 20            # a horizon up to this is run itself, beyond it its power of two
CALIBRATE_SECONDS = 0.25               # the rate that sizes the run near the horizon is measured on a run this long
EXACT_UP_TO = 5                        # exact-rational forward: every word up to this length (at most 64 each)
FLOAT64_EXACT = 2 ** 53


@dataclass(frozen=True)
class Certificate:
    limit: Verdict                     # (a)
    float64: Verdict                   # (b)
    finite: Verdict                    # (c)
    leak: LeakProof
    exact_horizon: Optional[int]       # None: every length
    float64_horizon: Optional[int]     # None: no comparison to separate (and no integer-range limit)
    notes: List[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = [self.limit.status, self.float64.status, self.finite.status]
        if REFUTED in statuses:
            return REFUTED
        return UNKNOWN if UNKNOWN in statuses else HOLDS

    @property
    def horizon(self) -> Optional[int]:
        """The longest length the top-level verdict covers: None for every length (infinite context), else the
        exact horizon of (a) (fixed logits, a ReLU step, a small hardness): the claim is "holds up to L"."""
        return self.exact_horizon

    def status_text(self) -> str:
        """The top-level verdict with its scope: "holds for every length", "holds up to 374", "refuted", ..."""
        if self.status != HOLDS:
            return self.status
        return "holds for every length" if self.horizon is None else f"holds up to {self.horizon}"

    def as_dict(self) -> dict:
        return {"status": self.status, "horizon": self.horizon,
                "every_length": self.status == HOLDS and self.horizon is None, "status_text": self.status_text(),
                "limit_transformer": {**self.limit.as_dict(), "exact_horizon": self.exact_horizon,
                                      "every_length": self.exact_horizon is None and self.limit.status == HOLDS,
                                      "leak_obligation": self.leak.as_dict()},
                "float64": {**self.float64.as_dict(), "horizon": self.float64_horizon},
                "finite": self.finite.as_dict(), "notes": list(self.notes)}


def exact_horizon(model, leak: LeakProof) -> Optional[int]:
    """Largest length at which (a) is proved; None for every length. (Call only when leak.status != 'fails'.)"""
    horizons = []
    if leak.status == "horizon":
        horizons.append(leak.horizon)
    if model.layout is not None and model.layout.comparison == "relu" and model.layout.compare_groups:
        terms = compare_leaks(model.program, model.layout.error_terms)
        horizons.append(relu_horizon(model, max((L for _, L in terms), default=0)))
    return min(horizons) if horizons else None


def integer_range_limit(model, cap: int = 2 ** 62) -> Optional[int]:
    """Largest n with every program value inside float64's exact integers (None: no limit below cap).
    Uses verify.crasp.values when present."""
    try:
        from verify.crasp.values import max_abs_value
    except ImportError:
        return None
    line = model.program
    if max_abs_value(line, cap) <= FLOAT64_EXACT:
        return None
    if max_abs_value(line, 1) > FLOAT64_EXACT:
        return 0
    lo, hi = 1, cap
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if max_abs_value(line, mid) <= FLOAT64_EXACT else (lo, mid)
    return lo


def _min(*xs: Optional[int]) -> Optional[int]:
    xs = [x for x in xs if x is not None]
    return min(xs) if xs else None


EXACT_WORK = 1_000_000   # work units of the exact-rational run (the slow, Fraction-valued path): a word of length n
                         # costs n × (parameters + 1000 × layers), measured to track its time within a factor of
                         # two; a fixed amount of work, so the same words are checked on every machine, under any
                         # load. The first batch always runs.


def _exact_check(model, name: str, claim: str) -> Optional[Verdict]:
    """Exact-rational forward pass vs interpreter on short words: lengths 1..EXACT_UP_TO, every word (or 64
    sampled, seed 0) per length, in batches of 8 (1 for a model wider than 100), while the work stays within
    EXACT_WORK; the scope says what ran (the same on every machine)."""
    from verify.limit.agreement import exhaustive_or_sampled
    from verify.limit.forward import exact_weight_base
    if exact_weight_base(model) is None:
        return None
    rng = np.random.default_rng(0)
    symbols = input_symbols(model)
    ran = {}
    work = [0]
    per_symbol = sum(int(np.asarray(m).size) for m in _matrices(model)) + 1000 * model.depth

    def batches():
        for n in range(1, EXACT_UP_TO + 1):
            words, _ = exhaustive_or_sampled(symbols, n, rng, 64)
            step = 8 if model.width <= 100 else 1
            for b0 in range(0, len(words), step):
                batch = words[b0:b0 + step]
                cost = len(batch) * n * per_symbol
                if ran and work[0] + cost > EXACT_WORK:
                    return
                work[0] += cost
                ran[n] = ran.get(n, 0) + len(batch)
                yield batch, 0

    scope = AgreementScope(exhaustive_up_to=0, long_lengths=(), precision="exact")
    v = check_agreement(model, scope, name=name, batches=batches())
    if not ran:
        return None
    text = ("exact rationals, offset 0: " + ", ".join(f"{k} word{'s' if k > 1 else ''} of length {n}"
                                                      for n, k in sorted(ran.items()))
            + " (a fixed work budget, the same on every machine)")
    return Verdict(v.status, v.claim, v.method, text, v.counterexample, reason=v.reason, evidence=v.evidence)


def _matrices(model):
    yield model.embedding
    yield model.unembedding
    for layer in model.layers:
        for h in layer.heads:
            yield from (h.query, h.key, h.value, h.output)
        if layer.norm is not None:
            yield from (layer.norm.read, layer.norm.write)
        if layer.mlp is not None:
            yield from (layer.mlp.w_in, layer.mlp.w_out)


@dataclass(frozen=True)
class LongRun:
    n: int
    offset: int
    check: object                      # verify.limit.stream.StreamCheck
    word: np.ndarray                   # the input (ids), kept to cut a counterexample from


def _floor_pow2(x: int) -> int:
    return 1 << (max(1, x).bit_length() - 1)


def _long_runs(model, N: int, H: Optional[int], long_seconds: Optional[float], memory: Optional[int],
               notes: List[str], seed: int = 0) -> Optional[List[LongRun]]:
    """The streamed long runs of (b); None when the model has a head that cannot be streamed (a note says
    so, and the caller falls back to the memory-bounded dense forward)."""
    import time

    from verify.limit.stream import NotStreamable, default_block, stream_bytes, stream_check
    budget = LONG_SECONDS if long_seconds is None else float(long_seconds)
    block = default_block(model)
    while memory is not None and block > 256 and stream_bytes(model, block) > memory:
        block //= 2
    symbols = np.asarray(input_symbols(model), dtype=np.int8 if len(model.alphabet) < 127 else np.int32)
    rng = np.random.default_rng(seed)
    runs: List[LongRun] = []

    def run(n: int, off: int) -> bool:
        word = symbols[rng.integers(0, len(symbols), size=n)]
        c = stream_check(model, word, off, block)
        runs.append(LongRun(n, off, c, word))
        return c.agree and c.separated

    def rate() -> float:
        """Positions per second of the longest run so far (short runs are dominated by per-block costs)."""
        r = max(runs, key=lambda r: (r.n, -r.check.seconds))
        return r.n / max(r.check.seconds, 1e-9)

    if H is not None and H < 1:
        return runs                                  # no length is certified: nothing to run
    within = [n for n in (N, 16 * N) if H is None or n <= H]
    if H is not None and H < 16 * N:
        notes.append(f"16·N = {16 * N:,} is beyond the float64 horizon {H:,}: not run (nothing is claimed there)")
    try:
        if N in within:                              # the user's own context: every offset
            for off in LONG_OFFSETS:
                if not run(N, off):
                    return runs
        if 16 * N in within and not run(16 * N, LONG_OFFSETS[1]):
            return runs
        top = H if H is not None and H <= EXACT_HORIZON_RUN else _floor_pow2(min(H or LONGEST_STREAM, LONGEST_STREAM))
        if not runs and not run(min(top, 1 << 12), LONG_OFFSETS[0]):   # N > H: start the rate from a short run
            return runs
        # calibrate the rate on longer runs (offset 0) until one takes CALIBRATE_SECONDS: doubling, ~2x that
        while max(r.check.seconds for r in runs) < CALIBRATE_SECONDS:
            longest = max(r.n for r in runs)
            n = min(_floor_pow2(max(2 * longest, int(CALIBRATE_SECONDS * rate()))), top)
            if n <= longest or not run(n, LONG_OFFSETS[0]):
                break
        if not all(r.check.agree and r.check.separated for r in runs):
            return runs
        start = time.perf_counter()                  # the budget covers what follows (calibration: ~0.5 s)
        near = top
        done = max([r.n for r in runs], default=0)
        too_big = (lambda n: memory is not None and n * symbols.itemsize > memory // 2)   # the word itself
        while near > done and (near / rate() > budget or too_big(near)):
            near = _floor_pow2(near - 1) if near & (near - 1) == 0 else _floor_pow2(near)
        what = "the float64 horizon" if H is not None else "the cap (no float64 horizon: nothing to separate)"
        if near > done:
            if not run(near, LONG_OFFSETS[2]):
                return runs
            if near < top and too_big(min(top, 2 * near)):
                notes.append(f"near {what} {H or LONGEST_STREAM:,}: ran {near:,} (the longest power of two whose "
                             f"input fits half the {memory / 2 ** 20:.0f} MiB check memory)")
            elif near < top:
                notes.append(f"near {what} {H or LONGEST_STREAM:,}: ran {near:,} (the longest power of two the "
                             f"{budget:g} s budget allows at the measured {rate():,.0f} positions/s); {top:,} would "
                             f"take ~{top / rate():,.0f} s per offset — raise --long-seconds to run it")
        elif done < top:
            notes.append(f"near {what} {H or LONGEST_STREAM:,}: no length beyond {done:,} fits the {budget:g} s "
                         f"budget at the measured {rate():,.0f} positions/s ({top:,} would take "
                         f"~{top / rate():,.0f} s) — raise --long-seconds to run it")
        longest = near if near > done else (top if done == top else None)
        ran = {(r.n, r.offset) for r in runs}
        extra = [(n, off) for n in ([16 * N] if 16 * N in within else []) + ([longest] if longest else [])
                 for off in LONG_OFFSETS if (n, off) not in ran]
        left = []
        for n, off in extra:
            if time.perf_counter() - start + n / rate() <= budget:
                if not run(n, off):
                    return runs
            else:
                left.append(f"{n:,} at offset {off:,}")
        if left:
            notes.append(f"not run (the {budget:g} s --long-seconds budget): length " + ", ".join(left))
    except NotStreamable as e:
        notes.append(f"long runs not streamed ({e}); the dense forward pass ran within the memory budget instead")
        return None
    return runs


def _merge_long(model, name: str, v: Verdict, runs: List[LongRun]) -> Verdict:
    """The short-word verdict v (HOLDS) extended by the streamed long runs."""
    from verify.crasp.checks import END_MARKER
    from verify.verdict import Counterexample
    ev = dict(v.evidence)
    text = "; ".join(f"{n:,} at offset{'s' if len(o) > 1 else ''} {', '.join(f'{x:,}' for x in o)}"
                     for n, o in _grouped(runs))
    block = runs[0].check.block if runs else 0
    secs = sum(r.check.seconds for r in runs)
    scope = (v.scope + (f"; streamed (verify.limit.stream, blocks of {block:,} rows, {secs:.1f} s): 1 random word "
                        f"of each length {text}" if runs else ""))
    names = list(model.alphabet) + [END_MARKER]
    for r in runs:
        c = r.check
        if not c.agree:
            pos, key, want, got = c.mismatch
            ce = Counterexample(tuple(names[t] for t in r.word[:pos]), pos, want, got,
                                f"output {key!r}, offset {r.offset} (the prefix of a random word of length {r.n:,}; "
                                f"outputs are causal)")
            return Verdict(REFUTED, v.claim, "streamed float64 forward pass vs interpreter", scope, ce, evidence=ev)
    for r in runs:
        c = r.check
        if c.min_margin < ev.get("min_margin", np.inf):
            ev["min_margin"], ev["smallest_margin_at_length"] = c.min_margin, r.n
        ev["max_error"] = max(ev.get("max_error", 0.0), c.max_error)
        ev["min_margin_to_error"] = min(ev.get("min_margin_to_error", np.inf), c.min_ratio)
    ev["checked_long_lengths"] = sorted({r.n for r in runs})
    ev["long_runs"] = [{"length": r.n, "offset": r.offset, "seconds": round(r.check.seconds, 3)} for r in runs]
    ev["longest"] = max([ev.get("longest", 0)] + [r.n for r in runs])
    bad = next((r for r in runs if not r.check.separated), None)
    if bad is not None:
        c = bad.check
        why = (f"outputs agree, but at length {bad.n:,} (offset {bad.offset}) a ReLU step is not saturated "
               f"(min slope·|x| = {c.saturation:.3g} < 1)" if model.layout.comparison == "relu" else
               f"outputs agree, but at length {bad.n:,} (offset {bad.offset}) a comparison margin "
               f"({c.min_margin:.3g}) is not above its numeric error ({c.max_error:.3g})")
        return Verdict(UNKNOWN, v.claim, v.method, scope, reason=why + " — agreement there is not certified",
                       evidence=ev)
    return Verdict(HOLDS, v.claim, v.method, scope, evidence=ev)


def _grouped(runs: List[LongRun]):
    out = {}
    for r in runs:
        out.setdefault(r.n, []).append(r.offset)
    return sorted((n, sorted(o)) for n, o in out.items())


def certify(model, N: int, name: str, finite=None, check_length: int = 8, memory: Optional[int] = None,
            long_samples: int = 1, long_seconds: Optional[float] = None) -> Certificate:
    """`long_seconds`: the time the streamed float64 runs beyond N may take (LONG_SECONDS by default); N and
    16·N always run, the length near the float64 horizon is the longest power of two that fits."""
    notes: List[str] = []
    leak = prove(model)
    claim_a = f"the Limit Transformer of {name} computes the program"
    exact = _exact_check(model, name, claim_a)
    if exact is not None and exact.status == REFUTED:
        E = exact_horizon(model, leak) if leak.status != "fails" else None
        limit = Verdict(REFUTED, claim_a, "exact-rational forward pass vs interpreter", exact.scope,
                        exact.counterexample, evidence=exact.evidence)
    elif leak.status == "fails":
        E = None
        limit = Verdict(UNKNOWN, claim_a + " at every length", "leak obligation (verify.limit.leak)",
                        "symbolic, every length", reason=f"the leak bound does not hold at every length: {leak.detail}; "
                                                          f"raise --hardness or leave it unset",
                        evidence={"leak": leak.as_dict()})
    else:
        E = exact_horizon(model, leak)
        where = "at every length (infinite context)" if E is None else f"at every length <= {E}"
        how = {"none": "no guarded count reaches a comparison, so nothing leaks",
               "all": f"leak obligation proved for every t >= 1 — {leak.method}",
               "horizon": f"leak obligation holds exactly for t <= {leak.horizon} ({leak.method})"}[leak.status]
        if model.layout is not None and model.layout.comparison == "relu":
            how += f"; ReLU step saturated (slope·margin >= 1) exactly for t <= {E}"
        else:
            how += "; sign tests by LayerNorm without ε (exact at every length)"
        method = f"construction (verify.limit.compiler.plan) in exact arithmetic; {how}"
        if exact is not None and exact.status == REFUTED:
            limit = Verdict(REFUTED, claim_a, "exact-rational forward pass vs interpreter", exact.scope,
                            exact.counterexample, evidence=exact.evidence)
        else:
            scope = (f"{'every length' if E is None else f'lengths <= {E}'}; exact-rational forward = interpreter "
                     f"on {exact.scope}" if exact is not None else "no exact-rational run (irrational weights or no "
                                                                   "time left)")
            limit = Verdict(HOLDS, claim_a + " " + where, method, scope,
                            evidence={"leak": leak.as_dict(), "exact_horizon": E})
    # (b) float64 evaluation
    ints = integer_range_limit(model)
    H = _min(float64_limit(model), E, ints)
    if ints is not None and ints == H:
        notes.append(f"program values exceed 2^53 (float64's exact integers) beyond length {ints:,}: the float64 "
                     f"horizon stops there")
    claim_b = f"the float64 forward pass of the Limit Transformer of {name} computes the program"
    claim_b += f" at every length <= {H:,}" if H is not None else " (no comparison: exact at every length)"
    short = min(check_length, 12)
    per_length = 1024 if model.width <= 100 else 64      # sampled words per short length (wide models: fewer)
    runs = _long_runs(model, N, H, long_seconds, memory, notes)
    streamed = runs is not None
    scope = AgreementScope(exhaustive_up_to=short, per_length=per_length,
                           long_lengths=() if streamed else tuple(n for n in (N, 16 * N) if H is None or n <= H),
                           long_samples=long_samples, long_offsets=LONG_OFFSETS, memory=memory,
                           one_offset_above=N)
    v = check_agreement(model, scope, name=name)
    if streamed and v.status == HOLDS:
        v = _merge_long(model, name, v, runs)
    hb = "a-priori bound: rounding κ(n+2)·2^-52 plus leak below the margin 1/(2(n+1))"
    if v.status == HOLDS and H is not None and H < 1:
        float64 = Verdict(UNKNOWN, claim_b, v.method, v.scope, reason="the a-priori float64 bound certifies no "
                          "length (the leak or the rounding bound exceeds the margin already at length 1)",
                          evidence=v.evidence)
    elif v.status == HOLDS:
        float64 = Verdict(HOLDS, claim_b, f"{hb}; float64 forward = interpreter with every sign test separated",
                          v.scope, evidence=v.evidence)
    else:
        float64 = Verdict(v.status, claim_b, v.method, v.scope, v.counterexample, reason=v.reason, evidence=v.evidence)
    # (c) finite realization
    claim_c = f"T_{N} computes the program on every input of length <= {N}"
    if finite is None:
        fin = Verdict(UNKNOWN, claim_c, "—", "—", reason="T_N was not built")
    else:
        upto = _min(E, H)
        reach = N if upto is None else max(1, min(N, upto))
        fscope = AgreementScope(exhaustive_up_to=min(short, 6, reach), per_length=min(256, per_length),
                                long_lengths=(reach,), long_samples=1, memory=memory)
        fv = check_agreement(finite, fscope, name=f"{name} (T_{N})")
        why = ("positional products equal φ on every causal pair up to N (banded realization), so T_N computes what "
               "the Limit Transformer computes on inputs up to N")
        if fv.status == HOLDS and upto is not None and upto < 1:
            fin = Verdict(UNKNOWN, claim_c, "—", fv.scope, reason="no length is certified for the Limit Transformer")
        elif fv.status == HOLDS and upto is not None and upto < N:
            fin = Verdict(HOLDS, f"T_{N} computes the program on every input of length <= {upto} (of its context {N})",
                          f"{why}; float64 forward = interpreter", fv.scope, evidence=fv.evidence)
        elif fv.status == HOLDS:
            fin = Verdict(HOLDS, claim_c, f"{why}; float64 forward = interpreter, every sign test separated",
                          fv.scope + " (lengths <= N only, as the theory promises)", evidence=fv.evidence)
        else:
            fin = fv
    return Certificate(limit, float64, fin, leak, E, H, notes)
