"""The exact one-way protocol for a C-RASP[periodic, local] program (SPEC §4, Theorem 12).

Alice holds positions 1..split, Bob holds split+1..n.  Alice evaluates the whole program on her
half and sends, as an actual bit string:
  - for every unguarded count #[P]: its total over her half, in ⌈log₂(split+1)⌉ bits;
  - for every guarded count #[P @ S]: the operand P at her last min(max S, split) positions
    (one bit each) — the only ones a distance in S can reach from Bob's half.
Bob evaluates his half in program order from that message and his own tokens alone (periodic
predicates depend only on the position).  `bits_sent` is the length of the bit string, at most
K·⌈log₂(split+1)⌉ + K·τ for K counting operations and radius τ.

Arithmetic is the interpreter's exact integer arithmetic: the totals Alice sends are counts (at
most `split`, so their bits are the real values), and Bob computes in int64 only where the static
bound (verify.crasp.values) shows it exact at length split + len, else in Python integers.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil, log2
from typing import List, Optional, Tuple, Union

import numpy as np

from verify.crasp import ast as A
from verify.crasp.interpreter import count_dtype, evaluate, pointwise, straight_line, symbol_ids
from verify.crasp.linear import StraightLine, radius_of

TOTAL, TAIL = "total", "tail"
CHUNK_ELEMENTS = 1 << 27  # positions × operations evaluated at once by check_protocol


def count_width(split: int) -> int:
    """Bits for an integer in 0..split."""
    return max(1, ceil(log2(split + 1)))


@dataclass(frozen=True)
class Field:
    """One part of Alice's message: `total` (a count over her half, `width` bits, most significant
    first) or `tail` (the operand's values at her last `width` positions, oldest first)."""

    op_index: int
    kind: str
    width: int
    start: int  # bit offset in the message


@dataclass(frozen=True)
class Message:
    """What Alice sends: bits (batch, bits_sent) as 0/1 uint8."""

    bits: np.ndarray

    @property
    def bits_sent(self) -> int:
        return int(self.bits.shape[1])


@dataclass(frozen=True)
class Protocol:
    """The message layout for one program and one split; both players know it in advance."""

    line: StraightLine
    split: int
    offset: int
    fields: Tuple[Field, ...]

    @property
    def bits_sent(self) -> int:
        return sum(f.width for f in self.fields)

    @property
    def counting_operations(self) -> int:
        return len(self.line.counting_ops)

    @property
    def radius(self) -> int:
        return radius_of(self.line)

    @property
    def bound(self) -> int:
        """Theorem 12's budget for this program: K·⌈log₂(split+1)⌉ + K·τ."""
        k = self.counting_operations
        return k * count_width(self.split) + k * self.radius

    # ------------------------------------------------------------------ Alice
    def alice(self, alice_ids: np.ndarray) -> Message:
        """Alice evaluates her half and writes the message."""
        alice_ids = np.asarray(alice_ids)
        if alice_ids.ndim != 2 or alice_ids.shape[1] != self.split:
            raise ValueError(f"Alice holds exactly {self.split} positions, got shape {alice_ids.shape}")
        ev = evaluate(self.line, alice_ids, self.offset)
        batch = alice_ids.shape[0]
        bits = np.zeros((batch, self.bits_sent), dtype=np.uint8)
        for f in self.fields:
            op = self.line.ops[f.op_index]
            operand = ev.value(op.args[0])
            if f.kind == TOTAL:
                total = operand.sum(axis=1, dtype=np.int64)
                shifts = np.arange(f.width - 1, -1, -1, dtype=np.int64)
                bits[:, f.start:f.start + f.width] = (total[:, None] >> shifts) & 1
            elif f.width:
                bits[:, f.start:f.start + f.width] = operand[:, self.split - f.width:]
        return Message(bits)

    # ------------------------------------------------------------------ Bob
    def bob(self, message: Message, bob_ids: np.ndarray) -> List[np.ndarray]:
        """Bob's values of every operation at his positions split+1..split+len, computed from the
        message and his own tokens only.  Returns one (batch, len) array per operation."""
        bob_ids = np.asarray(bob_ids)
        batch, m = bob_ids.shape
        bits = message.bits.astype(np.int64)
        if bits.shape != (batch, self.bits_sent):
            raise ValueError(f"message has shape {bits.shape}, expected {(batch, self.bits_sent)}")
        by_op = {f.op_index: f for f in self.fields}
        sid = symbol_ids(self.line.alphabet)
        positions = np.arange(self.split + 1, self.split + m + 1, dtype=np.int64)[None, :] + self.offset
        dtype = count_dtype(self.line, self.split + m)  # the interpreter's choice on the whole input
        vals: List[np.ndarray] = []
        for op in self.line.ops:
            a = [vals[i] for i in op.args]
            k = op.kind
            if k == "count":
                f = by_op[op.index]
                weights = np.int64(1) << np.arange(f.width - 1, -1, -1, dtype=np.int64)
                total = bits[:, f.start:f.start + f.width] @ weights
                v = (total[:, None] + np.cumsum(a[0], axis=1, dtype=np.int64)).astype(dtype, copy=False)
            elif k == "guarded_count":
                f = by_op[op.index]
                reach = max(op.param)
                tail = bits[:, f.start:f.start + f.width]
                pad = np.zeros((batch, reach - f.width), dtype=np.int64)  # before position 1
                ext = np.concatenate([pad, tail, np.broadcast_to(a[0], (batch, m)).astype(np.int64)], axis=1)
                v = np.zeros((batch, m), dtype=np.int64)
                for d in op.param:  # ext index reach + t is Bob's t-th position
                    v += ext[:, reach - d:reach - d + m]
                v = v.astype(dtype, copy=False)
            else:
                v = pointwise(op, a, bob_ids, sid, positions, m, dtype)
            vals.append(v)
        return [np.broadcast_to(v, (batch, m)) for v in vals]


def make_protocol(program: Union[A.Program, StraightLine], split: int, offset: int = 0) -> Protocol:
    """The message layout for `program` when Alice holds positions 1..split."""
    if split < 1:
        raise ValueError("Alice must hold at least one position (split >= 1)")
    line = straight_line(program)
    fields: List[Field] = []
    start = 0
    for op in line.counting_ops:
        if op.kind == "count":
            width, kind = count_width(split), TOTAL
        else:
            width, kind = min(max(op.param), split), TAIL
        fields.append(Field(op.index, kind, width, start))
        start += width
    return Protocol(line, split, offset, tuple(fields))


@dataclass(frozen=True)
class ProtocolCheck:
    """Did Bob reproduce the interpreter on his half?  `mismatch` = (input row, op index,
    1-based position, interpreter value, Bob value) for the first disagreement, else None."""

    protocol: Protocol
    inputs: int
    bob_positions: int
    agree: bool
    mismatch: Optional[Tuple[int, int, int, int, int]]

    @property
    def bits_sent(self) -> int:
        return self.protocol.bits_sent

    @property
    def within_bound(self) -> bool:
        return self.protocol.bits_sent <= self.protocol.bound


def check_protocol(program: Union[A.Program, StraightLine], ids: np.ndarray, split: int,
                   offset: int = 0) -> ProtocolCheck:
    """Run the protocol on every input row of `ids` (batch, n) and compare Bob's value of every
    operation at every position split+1..n with the interpreter on the whole input."""
    ids = np.asarray(ids)
    if not 1 <= split < ids.shape[1]:
        raise ValueError(f"split {split} must leave both players at least one position of {ids.shape[1]}")
    protocol = make_protocol(program, split, offset)
    # rows in chunks: the interpreter keeps every operation's values, so bound the live memory
    chunk = max(1, CHUNK_ELEMENTS // max(1, ids.shape[1] * len(protocol.line.ops)))
    for start in range(0, ids.shape[0], chunk):
        part = ids[start:start + chunk]
        message = protocol.alice(part[:, :split])
        bob = protocol.bob(message, part[:, split:])
        full = evaluate(protocol.line, part, offset)
        for op in protocol.line.ops:
            want = full.value(op.index)[:, split:]
            got = bob[op.index]
            bad = np.argwhere(want != got)
            if len(bad):
                b, t = (int(v) for v in bad[0])
                return ProtocolCheck(protocol, ids.shape[0], ids.shape[1] - split, False,
                                     (start + b, op.index, split + t + 1, int(want[b, t]), int(got[b, t])))
        del full, bob
    return ProtocolCheck(protocol, ids.shape[0], ids.shape[1] - split, True, None)
