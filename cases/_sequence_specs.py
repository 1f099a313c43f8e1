"""Machine-readable specifications of the catalogue's SEQUENCE tasks (verify/sequence_spec.py), so that
`verify prove` and `verify equiv` cover them. Each says, in a few integers per token, which token comes
next at every answer position; each is compared with the case's own `answer` by the tests
(tests/test_sequence_specs.py, every valid input up to a length and sampled ones), and every
counterexample Z3 finds is replayed through `answer`, never through the specification.

The copy-like tasks locate input positions by one quantity per token t (or bigram):
    d_t = the number of input positions from the first occurrence of t to the end of the input,
i.e. n − p + 1 for t at input position p (0 while t has not occurred): the answer's k-th token
(0-based) of a copy is the t with d_t = n − k, of a reversal the t with d_t = k + 1.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

from verify.sequence_spec import BOOL, INPUT, INT, SequenceSpec

from cases._common import BOS, EOS, SEP

LENGTHS = (1, 2, 3, 4, 5, 6, 8, 12)


def sequence_spec(alphabet, input_alphabet, outputs, variables, step, valid, next_, answer, valid_input,
                  text: str, sampler=None, lengths: Sequence[int] = LENGTHS, invariants=()) -> SequenceSpec:
    return SequenceSpec(tuple(alphabet), tuple(input_alphabet), (*outputs, EOS), tuple(variables), step, valid,
                        next_, answer, valid_input, text, BOS, SEP, EOS, sampler, tuple(lengths), tuple(invariants))


def _bump(o, x, cond):
    step = o.ite(cond, 1, 0)
    return x if isinstance(step, int) and step == 0 else x + step     # folded: no `+ 0` term


def _answer_index(o, st, at):
    return _bump(o, st["k"], at.answer)


# ------------------------------------------------------------------ majorities
def majority_spec(alphabet, letters: Sequence[str], answer, valid_input, sampler) -> SequenceSpec:
    """c_x = the count of x in the input; k = answer tokens written. At the separator the next token is
    the x with c_x > c_y for every other y (the domain: it exists); then <eos>."""
    letters = tuple(letters)

    def step(o, st, sym, at):
        out = {f"c_{x}": _bump(o, st[f"c_{x}"], o.and_(at.input, sym.is_(x))) for x in letters}
        out["k"] = _answer_index(o, st, at)
        return out

    def wins(o, st, x):
        return o.and_(*[st[f"c_{x}"] > st[f"c_{y}"] for y in letters if y != x])

    def next_(o, st):
        out = {x: o.and_(st["k"] == 0, wins(o, st, x)) for x in letters}
        out[EOS] = st["k"] == 1
        return out

    return sequence_spec(alphabet, letters, letters, [*[(f"c_{x}", INT, 0) for x in letters], ("k", INT, 0)],
                         step, lambda o, st: o.or_(*[wins(o, st, x) for x in letters]), next_, answer,
                         valid_input, "the unique most frequent input symbol, then <eos>", sampler)


def interleave_spec(alphabet, strands: int, answer, valid_input, sampler) -> SequenceSpec:
    """r = input symbols read, mod `strands` (input symbol j, 0-based, is in strand j mod strands);
    ones_s / zeros_s per strand. The answer is each strand's majority in order, then <eos>."""
    bits = ("0", "1")

    def step(o, st, sym, at):
        out = {}
        for s in range(strands):
            here = o.and_(at.input, st["r"] == s)
            out[f"ones_{s}"] = _bump(o, st[f"ones_{s}"], o.and_(here, sym.is_("1")))
            out[f"zeros_{s}"] = _bump(o, st[f"zeros_{s}"], o.and_(here, sym.is_("0")))
        out["r"] = o.ite(at.input, o.ite(st["r"] == strands - 1, 0, st["r"] + 1), st["r"])
        out["k"] = _answer_index(o, st, at)
        return out

    def valid(o, st):
        return o.and_(st["r"] == 0, *[st[f"ones_{s}"] != st[f"zeros_{s}"] for s in range(strands)])

    def next_(o, st):
        out = {"1": o.or_(*[o.and_(st["k"] == s, st[f"ones_{s}"] > st[f"zeros_{s}"]) for s in range(strands)]),
               "0": o.or_(*[o.and_(st["k"] == s, st[f"zeros_{s}"] > st[f"ones_{s}"]) for s in range(strands)]),
               EOS: st["k"] == strands}
        return out

    variables = [("r", strands, 0), *[(f"{w}_{s}", INT, 0) for s in range(strands) for w in ("ones", "zeros")],
                 ("k", INT, 0)]
    return sequence_spec(alphabet, bits, bits, variables, step, valid, next_, answer, valid_input,
                         f"the majority bit of each of {strands} interleaved strands, in order, then <eos>",
                         sampler, lengths=tuple(strands * m for m in (1, 2, 3, 4, 5)))


# ------------------------------------------------------------------ distinct tokens
def _token_counts(o, st, sym, at, tokens):
    return {f"c_{t}": _bump(o, st[f"c_{t}"], o.and_(at.input, sym.is_(t))) for t in tokens}


def _distinct(o, st, tokens):
    return o.and_(*[st[f"c_{t}"] <= 1 for t in tokens])


def sort_spec(alphabet, vocab: Sequence[str], answer, valid_input, sampler) -> SequenceSpec:
    """c_t = the count of t in the input; k = answer tokens written. The answer's k-th token (0-based) is
    the present t with exactly k present tokens below it (vocabulary order); <eos> after all of them."""
    vocab = tuple(vocab)

    def step(o, st, sym, at):
        return {**_token_counts(o, st, sym, at, vocab), "k": _answer_index(o, st, at)}

    def next_(o, st):
        out, below = {}, o.const(0)
        for t in vocab:
            present = st[f"c_{t}"] >= 1
            out[t] = o.and_(present, below == st["k"])
            below = below + o.ite(present, 1, 0)
        out[EOS] = st["k"] == below
        return out

    def valid(o, st):
        return o.and_(_distinct(o, st, vocab), o.or_(*[st[f"c_{t}"] >= 1 for t in vocab]))

    return sequence_spec(alphabet, vocab, vocab, [*[(f"c_{t}", INT, 0) for t in vocab], ("k", INT, 0)], step,
                         valid, next_, answer, valid_input,
                         "the input's distinct tokens in ascending order (the k-th has k present tokens below it)",
                         sampler)


def _located(o, st, sym, at, tokens):
    """Counts c_t, input length n and d_t (see the module's docstring) after one symbol."""
    out = _token_counts(o, st, sym, at, tokens)
    for t in tokens:
        out[f"d_{t}"] = _bump(o, st[f"d_{t}"], o.and_(at.input, out[f"c_{t}"] >= 1))
    out["n"] = _bump(o, st["n"], at.input)
    return out


def _location_facts(keys, n: str = "n"):
    """What d_t means, as guesses for the proof (SequenceSpec.invariants), for every key t (a token, or a
    bigram's name): 0 <= d_t <= n, and d_t >= 1 exactly when t occurred (c_t >= 1); and every input
    position is one occurrence (the sum of the c_t is n)."""
    out = [(f"the c_t sum to {n}", lambda o, st: o.sum(st[f"c_{t}"] for t in keys) == st[n])]
    for t in keys:
        c, d = f"c_{t}", f"d_{t}"
        out.append((f"0 <= {d} <= {n}", lambda o, st, d=d: o.and_(st[d] >= 0, st[d] <= st[n])))
        out.append((f"{d} >= 1 exactly when {c} >= 1", lambda o, st, c=c, d=d: (st[d] >= 1) == (st[c] >= 1)))
    return out


def _located_vars(tokens):
    return [*[(f"{w}_{t}", INT, 0) for t in tokens for w in ("c", "d")], ("n", INT, 0), ("k", INT, 0)]


def copy_spec(alphabet, vocab: Sequence[str], answer, valid_input, sampler, reverse: bool = False,
              lengths: Sequence[int] = LENGTHS) -> SequenceSpec:
    """Distinct tokens, n of them: the answer's k-th token (0-based) is the one at input position k + 1
    (d_t = n − k), or for the reversal at position n − k (d_t = k + 1); <eos> once k = n."""
    vocab = tuple(vocab)

    def step(o, st, sym, at):
        return {**_located(o, st, sym, at, vocab), "k": _answer_index(o, st, at)}

    def next_(o, st):
        want = st["k"] + 1 if reverse else st["n"] - st["k"]
        out = {t: o.and_(st["k"] < st["n"], st[f"d_{t}"] == want) for t in vocab}
        out[EOS] = st["k"] == st["n"]
        return out

    what = "reversed" if reverse else "copied"
    return sequence_spec(alphabet, vocab, vocab, _located_vars(vocab), step,
                         lambda o, st: o.and_(_distinct(o, st, vocab), st["n"] >= 1), next_, answer, valid_input,
                         f"the input of distinct tokens, {what} (the k-th answer token is the input's "
                         f"{'(n − k)-th' if reverse else '(k + 1)-th'})", sampler, lengths,
                         invariants=_location_facts(vocab))


def count_spec(alphabet, vocab: Sequence[str], answer, valid_input, sampler) -> SequenceSpec:
    """Input `s e`: the answer starts at the first input token (d = n = 2); after writing the j-th
    vocabulary token the next is the (j + 1)-th, unless the written one is the input's last token
    (d = 1): then <eos>. `last` is the vocabulary index of the token just written (−1 before)."""
    vocab = tuple(vocab)

    def step(o, st, sym, at):
        out = {**_located(o, st, sym, at, vocab), "k": _answer_index(o, st, at)}
        out["last"] = o.ite(at.answer, sym.index(vocab), st["last"])
        return out

    def next_(o, st):
        first = st["k"] == 0
        ends = [o.and_(st["last"] == j, st[f"d_{t}"] == 1) for j, t in enumerate(vocab)]
        out = {}
        for j, t in enumerate(vocab):
            after = o.and_(st["last"] == j - 1, o.not_(ends[j - 1])) if j else o.const(False)
            out[t] = o.or_(o.and_(first, st[f"d_{t}"] == st["n"]), o.and_(o.not_(first), after))
        out[EOS] = o.and_(o.not_(first), o.or_(*ends))
        return out

    def valid(o, st):
        # two distinct tokens (then exactly one has d = 2, the first, and one d = 1), the first one lower
        first = o.sum(o.ite(st[f"d_{t}"] == 2, j, 0) for j, t in enumerate(vocab))
        second = o.sum(o.ite(st[f"d_{t}"] == 1, j, 0) for j, t in enumerate(vocab))
        return o.and_(st["n"] == 2, _distinct(o, st, vocab), first < second)

    # the two input positions the answer depends on are each one token's (first occurrences differ)
    unique = [(f"at most one token has d_t = {v}", lambda o, st, v=v: o.count(st[f"d_{t}"] == v for t in vocab) <= 1)
              for v in (1, 2)]
    return sequence_spec(alphabet, vocab, vocab, [*_located_vars(vocab), ("last", INT, -1)], step, valid, next_,
                         answer, valid_input, "from the first input token up to the second, one vocabulary step at "
                         "a time", sampler, lengths=(2, 3, 4, 6, 10), invariants=[*_location_facts(vocab), *unique])


def bigram_copy_spec(alphabet, vocab: Sequence[str], answer, valid_input, sampler,
                     lengths: Sequence[int] = LENGTHS) -> SequenceSpec:
    """Inputs whose bigrams are distinct (<bos> counts as the first token's predecessor): prev = the
    previous symbol (1 + its index in <bos> vocab, 0 for any other), c_ab / d_ab per bigram as c_t / d_t
    above. The answer's k-th token (0-based) is the c of the bigram ending at input position k + 1
    (d_ac = n − k for some a); <eos> once k = n."""
    vocab = tuple(vocab)
    firsts = (BOS, *vocab)
    pairs = [(a, c) for a in firsts for c in vocab]
    name = lambda a, c: f"{a.strip('<>')}_{c}"

    def step(o, st, sym, at):
        out = {"k": _answer_index(o, st, at), "n": _bump(o, st["n"], at.input), "prev": sym.index(firsts) + 1}
        for a, c in pairs:
            hit = o.and_(at.input, st["prev"] == firsts.index(a) + 1, sym.is_(c))
            out[f"c_{name(a, c)}"] = _bump(o, st[f"c_{name(a, c)}"], hit)
            out[f"d_{name(a, c)}"] = _bump(o, st[f"d_{name(a, c)}"], o.and_(at.input, out[f"c_{name(a, c)}"] >= 1))
        return out

    def next_(o, st):
        want = st["n"] - st["k"]
        out = {c: o.and_(st["k"] < st["n"], o.or_(*[st[f"d_{name(a, c)}"] == want for a in firsts]))
               for c in vocab}
        out[EOS] = st["k"] == st["n"]
        return out

    def valid(o, st):
        return o.and_(st["n"] >= 1, *[st[f"c_{name(a, c)}"] <= 1 for a, c in pairs])

    variables = [("prev", len(firsts) + 1, 0), *[(f"{w}_{name(a, c)}", INT, 0) for a, c in pairs for w in ("c", "d")],
                 ("n", INT, 0), ("k", INT, 0)]
    starts = [name(BOS, c) for c in vocab]
    facts = [*_location_facts([name(a, c) for a, c in pairs]),
             # only the first input position follows <bos>: one such bigram once the input is not empty,
             # and it is the one n positions from the end
             ("the c_bos_c sum to min(n, 1)",
              lambda o, st: o.sum(st[f"c_{t}"] for t in starts) == o.ite(st["n"] >= 1, 1, 0)),
             ("the d_bos_c sum to n", lambda o, st: o.sum(st[f"d_{t}"] for t in starts) == st["n"]),
             ("reading the input, n = 0 exactly right after <bos>",
              lambda o, st: o.or_(st["phase"] != INPUT, (st["prev"] == 1) == (st["n"] == 0)))]
    return sequence_spec(alphabet, vocab, vocab, variables, step, valid, next_, answer, valid_input,
                         "the input (distinct bigrams) copied: the k-th answer token ends the bigram at input "
                         "position k + 1", sampler, lengths,
                         invariants=facts)
