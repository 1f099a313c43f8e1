"""Streaming float64 evaluation of a Limit Transformer over one very long input (issue 11 §1).

    for block in stream(model, ids, offset, block=None, probes=None): ...   # StreamBlock per block of rows
    check = stream_check(model, ids, offset)                                # StreamCheck vs the interpreter

The input is processed in blocks of rows (BOS row first); between blocks only the state attention needs
is carried, per layer and head, so memory is O(block·width + layers·heads·width·τ) whatever the length
and time is linear in it:
- uniform heads (constant logits; the ln(t+1) scale multiplies a constant, so they stay uniform): the
  running sum of values over rows 0..r and nothing else;
- structured heads (the compiled heads: the key is the same vector at every input row, so an input key's
  logit is q_r·k_c + φ(i − j), scaled by s(r)): the BOS key and value, the last τ input rows' values, and
  the running sum of input-row values up to r − τ − 1 (the "far" rows share one logit, so with the
  ln(t+1) scale — a per-query factor — their sum is all the softmax needs);
- any other head (keys that differ between input rows) needs every earlier key: `NotStreamable`.
Running sums are carried as the last prefix sum and continued with np.cumsum, so they are the same
floats as verify.limit.forward's whole-sequence cumsums; rows are kept transposed (features × rows) so
the compiled sparse weights gather contiguous rows. Outputs equal verify.limit.forward's (tested), sums
of products may differ from it in the last bits (a different summation order).

The reference is the interpreter run blockwise (verify.crasp.interpreter.Chunked): counts continue from
the carried count, guarded counts keep the last max-distance source values — equal to
verify.crasp.interpreter.evaluate on the whole input (tested), in O(block · operations) memory.
"""
from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from verify.limit.agreement import comparison_scores
from verify.limit.model import Head, LimitTransformer


class NotStreamable(Exception):
    """The model has a head whose softmax needs every earlier key (reason in the message)."""


def default_block(model: LimitTransformer) -> int:
    """Rows per block: about 2^20 residual entries, 2^11..2^13 rows — small enough that a block's rows stay
    in cache between the sublayers (measured: 8192 rows is ~3× faster than 65536 for a width-15 model),
    large enough that the per-block Python work is small (2048 rows for a width-838 model)."""
    ops = len(model.program.ops) if model.program is not None else 0
    rows = (1 << 20) // max(1, model.width, ops)
    return int(min(1 << 13, max(1 << 11, 1 << max(0, rows.bit_length() - 1))))


def stream_bytes(model: LimitTransformer, block: Optional[int] = None) -> int:
    """A generous estimate of the peak memory of stream_check (bytes): a few copies of the block's
    residual stream, the widest sublayer's temporaries, the interpreter's values for one block."""
    b = block or default_block(model)
    hidden = max([layer.mlp.w_in.shape[0] for layer in model.layers if layer.mlp is not None] + [0])
    ops = len(model.program.ops) if model.program is not None else 0
    return int(8 * b * (4 * model.width + 2 * hidden + 2 * ops + 64) + (1 << 25))


# ------------------------------------------------------------------ transposed sparse products
class _SparseT:
    """x (k, B) -> w.T @ x for a weight w (k × m) used as `rows @ w` (verify.limit.forward._Sparse, transposed):
    the stream keeps rows as columns, so a weight's nonzero w[r, c] adds w[r, c]·x[r] — a contiguous row —
    to output row c. Columns with one nonzero (most of a compiled model) are one gather-multiply-scatter;
    the others are summed rank by rank (the k-th nonzero of every column at once); big dense weights use BLAS."""

    def __init__(self, w: np.ndarray):
        w = np.asarray(w, dtype=np.float64)
        self.shape = w.shape
        cols, rows = np.nonzero(w.T)                      # grouped by output column
        # BLAS on the block of used rows × used columns when it is big and not too sparse (sort: 11% of
        # 914 × 400); small products through a threaded BLAS on a busy machine measured 4x slower than the
        # gathers (tomita4: 0.5 M vs 2 M positions/s)
        used_r, used_c = np.unique(rows), np.unique(cols)
        self.dense = None
        if used_r.size * used_c.size >= 1 << 14 and len(cols) * 16 > used_r.size * used_c.size:
            self.dense = (used_r, used_c, np.ascontiguousarray(w[np.ix_(used_r, used_c)].T))
        per = np.bincount(cols, minlength=w.shape[1])
        one = per[cols] == 1
        self.r1, self.c1, self.v1 = rows[one], cols[one], w[rows[one], cols[one]][:, None]
        self.unit = bool(np.all(self.v1 == 1.0))
        rm, cm = rows[~one], cols[~one]
        # the k-th nonzero of every multi-entry column, k = 0, 1, ...: one gather-multiply-add per rank,
        # summed in column order (the order reduceat would use)
        self.cm, slot = np.unique(cm, return_inverse=True)
        first = np.searchsorted(cm, self.cm)
        rank = np.arange(len(cm)) - first[slot]
        self.ranks = [(slot[rank == k], rm[rank == k], w[rm[rank == k], cm[rank == k]][:, None])
                      for k in range(int(rank.max()) + 1 if len(rank) else 0)]

    def apply(self, x: np.ndarray, into: Optional[np.ndarray] = None) -> np.ndarray:
        b = x.shape[1]
        out = np.zeros((self.shape[1], b)) if into is None else into
        if self.dense is not None:
            used_r, used_c, sub = self.dense
            out[used_c] += sub @ x[used_r]
            return out
        if len(self.r1):
            g = x[self.r1]
            if not self.unit:
                g *= self.v1
            out[self.c1] += g
        if self.ranks:
            acc = np.empty((len(self.cm), b))
            for k, (slot, r, v) in enumerate(self.ranks):
                if k == 0:
                    np.multiply(x[r], v, out=acc)
                else:
                    acc[slot] += x[r] * v
            out[self.cm] += acc
        return out


def _apply_t(sp: "_SparseT", x: np.ndarray, into: Optional[np.ndarray] = None) -> np.ndarray:
    return sp.apply(x, into)


_PREPARED_T: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _sp(model, key, make) -> _SparseT:
    """The transposed sparse form of a model's matrix, made once per (model, key)."""
    cache = _PREPARED_T.setdefault(model, {})
    if key not in cache:
        cache[key] = _SparseT(make())
    return cache[key]


# ------------------------------------------------------------------ per-head carried state
@dataclass
class _Uniform:
    total: Optional[np.ndarray] = None           # (dv,) sum of values over rows so far


@dataclass
class _Structured:
    tau: int
    first: int                                   # first input row (1 with a BOS)
    kc: Optional[np.ndarray] = None              # (dh,) the key of every input row
    k_bos: Optional[np.ndarray] = None
    v_bos: Optional[np.ndarray] = None
    hist_v: Optional[np.ndarray] = None          # (dv, τ) values of rows r0−τ..r0−1 (0 for rows < first)
    hist_c: Optional[np.ndarray] = None          # (dv, τ+1) prefix sums of input values at rows r0−τ−1..r0−1


def _uniform(state: _Uniform, v: np.ndarray, r0: int) -> np.ndarray:
    """Mean of the values over rows 0..r (forward: cumsum / (r + 1)), continued from the carried sum."""
    if state.total is None:
        c = np.cumsum(v, axis=1)
    else:
        c = np.cumsum(np.concatenate([state.total[:, None], v], axis=1), axis=1)[:, 1:]
    state.total = c[:, -1].copy()
    return c / np.arange(r0 + 1, r0 + v.shape[1] + 1, dtype=np.float64)[None, :]


def _structured(model, head: Head, st: _Structured, q, k, v, r0: int, pos: np.ndarray, s: np.ndarray,
                log_base: float) -> np.ndarray:
    """The structured softmax of verify.limit.forward._structured for rows r0..r0+B−1, from carried state;
    same parts, same order, same floats."""
    dv, B = v.shape
    tau, first = st.tau, st.first
    r = np.arange(r0, r0 + B)
    if r0 == 0 and first:
        st.k_bos, st.v_bos = k[:, 0].copy(), v[:, 0].copy()
    lo = max(first - r0, 0)                       # first input row inside this block
    if lo < B:
        if st.kc is None:
            st.kc = k[:, lo].copy()
        kin = k[:, lo:]
        if not np.array_equal(kin, np.broadcast_to(st.kc[:, None], kin.shape)):
            raise NotStreamable(f"head {head.name or '?'} has keys that differ between input rows: its softmax "
                                f"needs every earlier key, so it cannot be streamed")
    kc = st.kc if st.kc is not None else np.zeros(q.shape[0])
    qc = kc @ q                                                   # (B,)
    beyond = 0.0 if head.band is not None else float(head.phi_beyond)
    vin = v.copy()
    vin[:, : min(lo, B)] = 0.0                                    # the BOS is not an input row
    hist_v = st.hist_v if st.hist_v is not None else np.zeros((dv, tau))
    hist_c = st.hist_c if st.hist_c is not None else np.zeros((dv, tau + 1))
    ext_v = np.concatenate([hist_v, vin], axis=1)                 # rows r0−τ .. r0+B−1
    if r0 + B - 1 >= first:
        # prefix sums over input rows first..r, continued from the last one (forward's cumsum, same floats)
        start = max(lo, 0)
        c = np.zeros((dv, B))
        prev = hist_c[:, -1] if r0 > first else None
        seg = vin[:, start:]
        if prev is None:
            c[:, start:] = np.cumsum(seg, axis=1)
        else:
            c[:, start:] = np.cumsum(np.concatenate([prev[:, None], seg], axis=1), axis=1)[:, 1:]
    else:
        c = np.zeros((dv, B))
    ext_c = np.concatenate([hist_c, c], axis=1)                   # rows r0−τ−1 .. r0+B−1

    def pos_term(m: int) -> np.ndarray:
        if head.band is not None:
            return head.band[np.clip(pos, 0, head.band.shape[0] - 1), m] if m <= tau else np.zeros(B)
        if head.phi is not None and m <= tau:
            return np.full(B, head.phi[m])
        return np.full(B, beyond)

    parts = []
    for m in range(tau + 1):
        valid = (r - m) >= first
        lg = np.where(valid, (qc + pos_term(m)) * s, -np.inf)
        parts.append((lg, ext_v[:, tau - m: tau - m + B], None))
    if first:
        kb = st.k_bos @ q
        if head.band is not None:
            at = head.band[np.clip(pos, 0, head.band.shape[0] - 1), np.clip(pos, 0, tau)]
            pt = np.where(pos <= tau, at, 0.0)
        elif head.phi is not None:
            pt = np.where(pos <= tau, head.phi[np.clip(pos, 0, tau)], beyond)
        else:
            pt = np.full(B, beyond)
        parts.append(((kb + pt) * s, np.broadcast_to(st.v_bos[:, None], (dv, B)), None))
    count = np.maximum(r - tau - first, 0).astype(np.float64)
    if count.any():
        far = np.where((count > 0)[None], ext_c[:, :B], 0.0)
        lg = np.where(count > 0, (qc + beyond) * s, -np.inf)
        parts.append((lg, far, count))
    top = np.max(np.stack([p[0] for p in parts]), axis=0)
    num = np.zeros((dv, B))
    den = np.zeros(B)
    for lg, vals, cnt in parts:
        w = np.exp((lg - top) * log_base)
        num += w[None] * vals
        den += w * cnt if cnt is not None else w
    st.hist_v = ext_v[:, ext_v.shape[1] - tau:].copy()
    st.hist_c = ext_c[:, ext_c.shape[1] - tau - 1:].copy()
    return num / den[None]


# ------------------------------------------------------------------ the stream
@dataclass
class StreamBlock:
    start: int                                   # first input position (1-based) of the block
    outputs: Dict[str, np.ndarray]               # key -> (B_in,) Booleans at input rows
    scores: np.ndarray                           # (outputs, B_in)
    probes: Dict[str, np.ndarray]                # sublayer name -> (k, B_rows) incl. the BOS row in block 0
    rows: int                                    # rows of this block (the BOS row included in block 0)


def _scale(model: LimitTransformer, r: np.ndarray, d_head: int) -> np.ndarray:
    s = model.logit_scale
    if s == "none":
        return np.ones(len(r))
    if s == "inv_sqrt_dhead":
        return np.full(len(r), 1.0 / math.sqrt(d_head))
    return np.log(r.astype(np.float64) + 1.0)


def stream(model: LimitTransformer, ids: np.ndarray, offset: int = 0, block: Optional[int] = None,
           probes: Optional[Dict[str, np.ndarray]] = None) -> Iterator[StreamBlock]:
    """Evaluate the model on one input `ids` (1-D, ids as verify.limit.forward) block by block, in float64.
    `probes` as in forward: sublayer name -> R (k × d), read from the residual entering that sublayer."""
    ids = np.asarray(ids).reshape(-1)
    n = len(ids)
    block = block or default_block(model)
    if ids.size and (ids.min() < 0 or ids.max() > len(model.alphabet)):
        from verify.problems import UserError
        raise UserError(f"token ids must lie in 0..{len(model.alphabet)} (alphabet then end marker)")
    if offset < 0:
        from verify.problems import UserError
        raise UserError("the position offset must be >= 0")
    first = 1 if model.bos else 0
    states: Dict[Tuple[int, int], object] = {}
    for li, layer in enumerate(model.layers):
        for hi, head in enumerate(layer.heads):
            states[li, hi] = _Uniform() if head.is_uniform else _Structured(head.radius, first)
    log_base = math.log(model.softmax_base)
    probe_sp = {name: _SparseT(np.asarray(R, dtype=np.float64).T) for name, R in (probes or {}).items()}
    emb_t, pos_t = model.embedding.T.astype(np.float64), model.positions.T.astype(np.float64)
    total_rows = n + first
    safe = ids if n else np.zeros(1, dtype=np.int64)              # an empty input: the BOS row only
    for r0 in range(0, total_rows, block):
        r1 = min(total_rows, r0 + block)
        r = np.arange(r0, r1)
        tok_rows = r - first                                       # index into ids (−1: the BOS)
        pos = np.where(tok_rows >= 0, tok_rows + 1 + offset, 0)    # absolute positions (BOS 0)
        tok = np.where(tok_rows >= 0, safe[np.maximum(tok_rows, 0)], model.bos_id)
        y = emb_t[:, tok]
        if model.context is not None:
            y = y + pos_t[:, pos]
        else:
            table = pos_t[:, np.mod(pos, pos_t.shape[1])]
            if first and r0 == 0:
                table[:, 0] = 0.0                                 # the BOS carries no positional vector
            y = y + table
        got: Dict[str, np.ndarray] = {}

        def probe(name):
            if name in probe_sp:
                got[name] = probe_sp[name].apply(y)

        for li, layer in enumerate(model.layers):
            if layer.heads:
                probe(f"layer {li + 1} attention")
                dv = [h.value.shape[0] for h in layer.heads]
                values = _apply_t(_sp(model, ("values", li),
                                      lambda: np.concatenate([h.value for h in layer.heads]).T), y)
                splits = np.cumsum(dv)[:-1]
                outs = []
                for hi, (head, v) in enumerate(zip(layer.heads, np.split(values, splits, axis=0))):
                    st = states[li, hi]
                    if isinstance(st, _Uniform):
                        outs.append(_uniform(st, v, r0))
                        continue
                    q = _apply_t(_sp(model, ("query", li, hi), lambda: head.query.T), y)
                    k = _apply_t(_sp(model, ("key", li, hi), lambda: head.key.T), y)
                    s = _scale(model, r, head.query.shape[0])
                    outs.append(_structured(model, head, st, q, k, v, r0, pos, s, log_base))
                _apply_t(_sp(model, ("outputs", li),
                             lambda: np.concatenate([h.output for h in layer.heads], axis=1).T),
                         np.concatenate(outs, axis=0), into=y)
            if layer.norm is not None:
                probe(f"layer {li + 1} norm")
                x = _apply_t(_sp(model, ("norm read", li), lambda: layer.norm.read.T), y)
                with np.errstate(invalid="ignore", divide="ignore"):
                    sign = np.where(x == 0, 0.0, x / np.sqrt(x * x))
                _apply_t(_sp(model, ("norm write", li), lambda: layer.norm.write.T), sign, into=y)
                _add_bias(y, layer.norm.bias)
            if layer.mlp is not None:
                probe(f"layer {li + 1} mlp")
                m = layer.mlp
                hidden = _apply_t(_sp(model, ("mlp in", li), lambda: m.w_in.T), y)
                hidden += m.b_in[:, None]
                np.maximum(hidden, 0.0, out=hidden)
                _apply_t(_sp(model, ("mlp out", li), lambda: m.w_out.T), hidden, into=y)
                _add_bias(y, m.b_out)
        scores = _apply_t(_sp(model, ("unembedding",), lambda: model.unembedding.T), y)
        keep = tok_rows >= 0
        sc = scores[:, keep]
        yield StreamBlock(int(tok_rows[keep][0]) + 1 if keep.any() else 0,
                          {key: sc[o] > model.threshold for o, key in enumerate(model.output_keys)},
                          sc, got, r1 - r0)


def _add_bias(y: np.ndarray, bias: np.ndarray) -> None:
    nz = np.flatnonzero(bias)
    if len(nz):
        y[nz] += bias[nz][:, None]


# ------------------------------------------------------------------ the reference, blockwise
class BlockInterpreter:
    """The interpreter's values of every operation on one input `ids` (1-D), span of positions by span
    (`advance(p1)`: positions p..p1−1, each value (1, B)): verify.crasp.interpreter.Chunked, which carries
    each count's total and each guarded count's last source values (with the count dtype of the whole input)."""

    def __init__(self, line, ids: np.ndarray, offset: int = 0):
        from verify.crasp.interpreter import Chunked
        self.ids = np.asarray(ids).reshape(-1)
        self.run = Chunked(line, len(self.ids), offset)

    def advance(self, p1: int) -> List[np.ndarray]:
        ev = self.run.advance(self.ids[None, self.run.p:p1])
        return [ev.value(k) for k in range(len(ev.values))]


# ------------------------------------------------------------------ the check
@dataclass(frozen=True)
class StreamCheck:
    n: int
    offset: int
    block: int
    seconds: float
    agree: bool
    mismatch: Optional[Tuple[int, str, bool, bool]] = None     # (position, output key, want, got)
    min_margin: float = math.inf
    max_error: float = 0.0
    min_ratio: float = math.inf
    separated: bool = True
    saturation: float = math.inf
    worst_op: Optional[int] = None


def _groups(model):
    groups = model.layout.compare_groups if model.layout is not None else ()
    where = [f"layer {g.layer + 1} {g.stage}" for g in groups]
    probes: Dict[str, list] = {}
    slot = []
    for w, g in zip(where, groups):
        slot.append(len(probes.setdefault(w, [])))
        probes[w].append(g.read)
    return groups, where, slot, {k: np.stack(v) for k, v in probes.items()}


def stream_check(model: LimitTransformer, ids: np.ndarray, offset: int = 0, block: Optional[int] = None
                 ) -> StreamCheck:
    """The streamed float64 outputs vs the interpreter at every position, and every sign test's margin
    (as verify.limit.agreement.measure: x_exact from the interpreter's integer counts); stops at the
    first disagreeing output. Raises NotStreamable for a head that needs every earlier key."""
    if model.layout is None or model.program is None:
        raise ValueError("stream_check needs a compiled model (with its layout and program)")
    t0 = time.perf_counter()
    ids = np.asarray(ids).reshape(-1)
    n = len(ids)
    block = block or default_block(model)
    line = model.program
    groups, where, slot, probes = _groups(model)
    keys = [(key, line.output_index(key)) for key in model.output_keys]
    relu = model.layout.comparison == "relu"
    min_margin, max_error, min_ratio, saturation, separated, worst = math.inf, 0.0, math.inf, math.inf, True, None
    first = 1 if model.bos else 0
    ref = BlockInterpreter(line, ids, offset)
    for blk in stream(model, ids, offset, block, probes):
        nb = blk.scores.shape[1]
        p0 = blk.start - 1 if nb else 0
        vals = ref.advance(p0 + nb)
        for key, oi in keys:
            want = vals[oi][0]
            got = blk.outputs[key]
            bad = np.flatnonzero(want != got)
            if len(bad):
                i = int(bad[0])
                return StreamCheck(n, offset, block, time.perf_counter() - t0, False,
                                   (p0 + i + 1, key, bool(want[i]), bool(got[i])))
        i1 = np.arange(p0 + 2, p0 + nb + 2, dtype=np.float64)           # i + 1 for positions i
        has_bos = blk.rows > nb
        for w, s, g in zip(where, slot, groups):
            x = blk.probes[w][s]
            op = line.ops[g.op]
            diff = vals[op.args[0]][0] - vals[op.args[1]][0]
            exact = (diff + g.shift) / i1
            if has_bos:
                exact = np.concatenate([[g.bos_value], exact])
            if nb:
                m = float(np.abs(exact[1:] if has_bos else exact).min())
                if m < min_margin:
                    min_margin, worst = m, g.op
            e, r, ok, sat = comparison_scores(model, g.stage, x, exact)
            max_error, min_ratio, saturation = max(max_error, e), min(min_ratio, r), min(saturation, sat)
            separated &= ok
    return StreamCheck(n, offset, block, time.perf_counter() - t0, True, None, min_margin, max_error, min_ratio,
                       separated, saturation, worst)

