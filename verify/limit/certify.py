"""What `verify compile` certifies, kept apart as the theory keeps it apart (SPEC §2):

(a) the Limit Transformer, infinite context, exact arithmetic: the construction (compiler/plan.py)
    plus the leak obligation of verify.limit.leak — proved symbolically for every length (log-scaled
    attention, LayerNorm sign), or with an exact finite horizon (fixed logits: `--logit-scale none`,
    ReLU-step comparisons) — and an exact-rational forward pass equal to the interpreter on short inputs;
(b) its float64 evaluation: the a-priori horizon H (rounding κ(n+2)ε plus leak below the margin
    1/(2(n+1)), and every program value inside float64's exact integers), and the float64 forward pass
    equal to the interpreter, every sign test separated, at N, 16·N and the longest length <= H the
    memory budget allows, at several offsets;
(c) the finite realization T_N: inputs of length <= N only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from verify.limit.agreement import AgreementScope, check_agreement, float64_limit, forward_bytes, input_symbols
from verify.limit.leak import LeakProof, compare_leaks, prove, relu_horizon
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Verdict

LONG_OFFSETS = (0, 7, 1_000_003)
LONGEST_ROWS = 1 << 18                 # the longest single check run (a few seconds for small models)
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

    def as_dict(self) -> dict:
        return {"status": self.status,
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


EXACT_SECONDS = 1.5      # time the exact-rational run may take (it is the slow, Fraction-valued path)


def _exact_check(model, name: str, claim: str) -> Optional[Verdict]:
    """Exact-rational forward pass vs interpreter on short words: lengths 1..EXACT_UP_TO, every word (or
    64 sampled) per length, in batches of 8 until EXACT_SECONDS have passed; the scope says what ran."""
    import time

    from verify.limit.agreement import exhaustive_or_sampled
    from verify.limit.forward import exact_weight_base
    if exact_weight_base(model) is None:
        return None
    rng = np.random.default_rng(0)
    symbols = input_symbols(model)
    start = time.perf_counter()
    ran = {}

    def batches():
        for n in range(1, EXACT_UP_TO + 1):
            words, _ = exhaustive_or_sampled(symbols, n, rng, 64)
            step = 8 if model.width <= 100 else 1
            for b0 in range(0, len(words), step):
                if time.perf_counter() - start > EXACT_SECONDS:
                    return
                ran[n] = ran.get(n, 0) + len(words[b0:b0 + step])
                yield words[b0:b0 + step], 0

    scope = AgreementScope(exhaustive_up_to=0, long_lengths=(), precision="exact")
    v = check_agreement(model, scope, name=name, batches=batches())
    if not ran:
        return None
    text = "exact rationals, offset 0: " + ", ".join(f"{k} word{'s' if k > 1 else ''} of length {n}"
                                                     for n, k in sorted(ran.items()))
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


def certify(model, N: int, name: str, finite=None, check_length: int = 8, memory: Optional[int] = None,
            long_samples: int = 1) -> Certificate:
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
    wanted = sorted({N, 16 * N} | ({H} if H is not None else set()))
    lengths = [n for n in wanted if H is None or n <= H]
    beyond = [n for n in wanted if H is not None and n > H]
    too_big = memory is not None and forward_bytes(model, long_samples, H or 0) > memory
    if H is not None and (too_big or H > LONGEST_ROWS):
        # the horizon itself is out of reach: the longest power of two below it within the budgets
        lengths = [n for n in lengths if n != H]
        n = 1 << max(1, (min(H, LONGEST_ROWS).bit_length() - 1))
        while n > 16 * N and memory is not None and forward_bytes(model, long_samples, n) > memory:
            n //= 2
        if n > 16 * N:
            lengths = sorted(set(lengths) | {n})
        notes.append(f"the float64 horizon {H:,} is not run itself (~{forward_bytes(model, long_samples, H) / 2 ** 30:.1f} "
                     f"GiB); the longest length checked is the longest power of two within the "
                     f"{(memory or 0) / 2 ** 30:.2f} GiB check budget and {LONGEST_ROWS:,} positions")
    claim_b = f"the float64 forward pass of the Limit Transformer of {name} computes the program"
    claim_b += f" at every length <= {H:,}" if H is not None else " (no comparison: exact at every length)"
    short = min(check_length, 12)
    per_length = 1024 if model.width <= 100 else 64      # sampled words per short length (wide models: fewer)
    scope = AgreementScope(exhaustive_up_to=short, per_length=per_length, long_lengths=tuple(lengths),
                           long_samples=long_samples, long_offsets=LONG_OFFSETS, memory=memory,
                           one_offset_above=N)
    v = check_agreement(model, scope, name=name)
    hb = "a-priori bound: rounding κ(n+2)·2^-52 plus leak below the margin 1/(2(n+1))"
    if v.status == HOLDS and H is not None and H < 1:
        float64 = Verdict(UNKNOWN, claim_b, v.method, v.scope, reason="the a-priori float64 bound certifies no "
                          "length (the leak or the rounding bound exceeds the margin already at length 1)",
                          evidence=v.evidence)
    elif v.status == HOLDS:
        float64 = Verdict(HOLDS, claim_b, f"{hb}; float64 forward = interpreter with every sign test separated",
                          v.scope + (f"; not run beyond the horizon: {beyond}" if beyond else ""), evidence=v.evidence)
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
