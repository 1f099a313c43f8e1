"""The machine-readable specifications of the SEQUENCE tasks (cases/_sequence_specs.py, run by
verify/smt/sequence.py) against the cases' own `answer`: every valid input up to a small length and
sampled ones, on numpy and on Z3; a wrong program refuted with a counterexample that replays through
`answer`, a wrong specification caught by the replay, never turned into a verdict; and the verdict of
`prove` on each sequence task at a small vocabulary (the catalogue's sizes are proved by `verify report`:
tests/test_report.py::test_every_check_is_proved_or_says_why_it_is_not)."""
from __future__ import annotations

import itertools
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pytest
import z3

from cases import _sequence_specs as S
from cases._small_vocab import small_sequence_cases
from cases.copy import copy_answer, make_unique_copy
from cases.sort import make_sort
from cases.unique_tasks import make_count, make_unique_bigram_copy, make_unique_reverse, unique_reverse_program
from verify.catalogue import all_cases, get_case
from verify.sequence_spec import NumpyOps, SequenceSpec, Z3Ops
from verify.smt.induction import InductionSettings, prove
from verify.smt.miter import Miter
from verify.smt.refute import ReplayError, refute
from verify.smt.sequence import SequenceMachine

ENUMERATED = 4000        # candidate inputs enumerated per length (every valid one among them is checked)
SAMPLED = 40             # inputs drawn per sampled length


def sequence_cases():
    return [c for c in all_cases() if isinstance(c.spec, SequenceSpec)]


# ------------------------------------------------------------------ inputs and expected labels
def valid_inputs(case, most: int = ENUMERATED) -> List[Tuple[str, ...]]:
    """Every valid input of every length n whose |input alphabet|^n candidates number at most `most`
    (length 1 always): sort over 100 tokens to length 1, unique copy over 12 to 3, binary majority to 11."""
    out: List[Tuple[str, ...]] = []
    for n in itertools.count(1):
        if n > 1 and len(case.input_alphabet) ** n > most:
            return out
        out.extend(x for x in itertools.product(case.input_alphabet, repeat=n) if case.valid_input(x))


def sampled_inputs(case, seed: int = 0) -> List[Tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, 2, 3, 5, 8, 12, 20):
        try:
            rows = case.sampler(rng, SAMPLED, n)
        except ValueError:
            continue
        out.extend(tuple(r) for r in rows if case.valid_input(tuple(r)))
    return out


def expected(case, spec: SequenceSpec, x: Sequence[str]):
    """(symbol ids of <bos> x <sep> answer <eos>, care (n,), labels (n, outputs)) from the case's own `answer`:
    checked exactly at the separator and at every answer token, where the label is the next token."""
    answer = tuple(case.answer(tuple(x))) + (spec.eos,)
    word = (spec.bos, *x, spec.sep, *answer)
    index = {a: k for k, a in enumerate(spec.alphabet)}
    care = np.zeros(len(word), dtype=bool)
    labels = np.zeros((len(word), len(spec.outputs)), dtype=bool)
    start = len(x) + 1                       # the separator's position
    for j, nxt in enumerate(answer):
        care[start + j] = True
        labels[start + j] = [t == nxt for t in spec.outputs]
    return [index[t] for t in word], care, labels


def disagreements(case, spec: SequenceSpec, inputs) -> List[str]:
    """Where the specification machine (numpy) differs from the case's `answer` — or from its own
    `reference`, which the proofs replay counterexamples through."""
    machine = SequenceMachine(spec, spec.alphabet, case.name)
    groups: Dict[int, list] = {}
    for x in inputs:
        ids, care, labels = expected(case, spec, x)
        groups.setdefault(len(ids), []).append((x, ids, care, labels))
    out = []
    for rows in groups.values():
        got_labels, got_care = machine.labels(np.array([r[1] for r in rows]))
        for (x, ids, care, labels), gl, gc in zip(rows, got_labels, got_care):
            word = [spec.alphabet[i] for i in ids]
            if not np.array_equal(gc, care) or not np.array_equal(gl[care], labels[care]):
                out.append(f"{' '.join(x)}: machine cares at {np.flatnonzero(gc).tolist()} and says "
                           f"{gl[gc].astype(int).tolist()}, answer: {np.flatnonzero(care).tolist()} "
                           f"{labels[care].astype(int).tolist()}")
            for i in range(len(word)):
                ref = spec.reference(word[:i + 1])
                if (ref is not None) != bool(care[i]) or (ref is not None and tuple(ref) != tuple(labels[i])):
                    out.append(f"{' '.join(word[:i + 1])}: reference {ref}, answer {labels[i] if care[i] else None}")
    return out


# ------------------------------------------------------------------ the specs agree with `answer`
def test_every_sequence_case_with_a_program_has_a_spec():
    names = {c.name for c in all_cases() if c.format == "sequence" and c.program is not None}
    assert names <= {c.name for c in sequence_cases()}
    assert {"sort", "count", "unique_reverse", "unique_bigram_copy", "unique_copy", "majority"} <= names


@pytest.mark.parametrize("name", [c.name for c in sequence_cases()])
def test_spec_agrees_with_answer_on_every_short_input_and_on_samples(name):
    case = get_case(name)
    inputs = valid_inputs(case) + sampled_inputs(case)
    assert len(inputs) >= 10
    assert disagreements(case, case.spec, inputs) == []


@pytest.mark.parametrize("case", small_sequence_cases(4), ids=lambda c: f"{c.name}_{len(c.input_alphabet)}")
def test_spec_agrees_with_answer_at_a_small_vocabulary(case):
    assert disagreements(case, case.spec, valid_inputs(case, 10000) + sampled_inputs(case)) == []


def off_frame_words(case, rng, count: int = 12):
    """Words that leave the frame: a wrong answer token, a repeated or foreign input symbol, no <bos>."""
    spec = case.spec
    out = []
    for x in sampled_inputs(case)[:count]:
        full = [spec.bos, *x, spec.sep, *case.answer(x), spec.eos]
        i = int(rng.integers(1, len(full)))
        out.append(full[:i] + [spec.alphabet[int(rng.integers(0, len(spec.alphabet)))]] + full[i:])
        out.append(full[1:])
    return out


@pytest.mark.parametrize("case", small_sequence_cases(4), ids=lambda c: f"{c.name}_{len(c.input_alphabet)}")
def test_z3_machine_equals_the_numpy_machine_and_the_reference(case):
    """The Z3 transition (constants folded, as the proofs build it) computes what numpy does, and both
    check exactly the positions the reference checks, with its labels, on and off the task's frame."""
    spec = case.spec
    machine = SequenceMachine(spec, spec.alphabet, case.name)
    index = {a: k for k, a in enumerate(spec.alphabet)}
    rng = np.random.default_rng(1)
    words = [[spec.bos, *x, spec.sep, *case.answer(x), spec.eos] for x in sampled_inputs(case)[:6]]
    for word in words + off_frame_words(case, rng, 4):
        ids = [index[t] for t in word]
        labels, care = machine.labels(np.array([ids]))
        state = machine.init_state()
        for i, sym in enumerate(ids):
            z_labels, z_care, state = machine.step_checked(state, sym, 0)
            state = {k: z3.simplify(v) for k, v in state.items()}
            assert z3.is_true(z3.simplify(z_care)) == bool(care[0, i]), (word, i)
            ref = spec.reference(word[:i + 1])
            assert (ref is not None) == bool(care[0, i]), (word, i)
            if care[0, i]:
                got = tuple(z3.is_true(z3.simplify(t)) for t in z_labels)
                assert got == tuple(labels[0, i]) == tuple(ref), (word, i)


def test_folded_z3_ops_agree_with_numpy_on_constants_and_terms():
    o, n = Z3Ops(), NumpyOps(1)
    x = z3.Int("x")
    assert o.and_(True, x > 1) is not None and o.and_(False, x > 1) is False
    assert o.or_(True, x > 1) is True and o.ite(False, 3, x) is x and o.sum([1, 2, 3]) == 6
    assert z3.is_true(z3.simplify(z3.substitute(o.sum([x, 2, x]) == 8, (x, z3.IntVal(3)))))
    assert bool(n.and_(np.array([True]), n.not_(np.array([False])))[0])


# ------------------------------------------------------------------ a check that can fail
def wrong_sort_spec(case) -> SequenceSpec:
    """Sort's spec with the order reversed (the largest present token first): wrong for the task."""
    vocab = case.input_alphabet
    return S.sort_spec(case.alphabet, tuple(reversed(vocab)), case.answer, case.valid_input, case.sampler)


def test_the_agreement_check_catches_a_wrong_spec():
    case = make_sort(5)
    found = disagreements(case, wrong_sort_spec(case), valid_inputs(case, 200))
    assert found and any(f.startswith("0 1:") for f in found)


def test_a_wrong_program_is_refuted_and_the_counterexample_replays_through_answer():
    """unique_reverse's program checked against unique_copy's task: the shortest counterexample, with
    the case's own `answer` (not the spec machine) saying what comes next."""
    copy = make_unique_copy(4)
    miter = Miter(unique_reverse_program(copy.input_alphabet)(), copy.spec)
    v = refute(miter, 8, work=50_000_000)
    assert v.status == "refuted"
    word = v.counterexample.input
    cut = word.index("<sep>")
    x, written = word[1:cut], word[cut + 1:]
    right = (*copy_answer(x), "<eos>")[len(written)]
    assert v.counterexample.expected == {f"next {t}": t == right for t in (*copy.input_alphabet, "<eos>")}
    assert v.counterexample.got != v.counterexample.expected
    assert len(x) == 2 and len(written) == 0       # the shortest: two tokens, at the separator


def test_a_wrong_spec_is_a_replay_error_never_a_verdict():
    """The right program against a wrong spec: Z3 finds a 'disagreement', the replay through `answer`
    shows the program is right there, and that is an error (a bug to fix), not a refutation."""
    case = make_sort(4)
    spec = wrong_sort_spec(case)       # its reference still replays through sort's own answer
    with pytest.raises(ReplayError):
        refute(Miter(case.build_program(), spec), 6, work=50_000_000)


# ------------------------------------------------------------------ verdicts
QUICK = InductionSettings(timeout_s=120.0, minimize_s=0)


@pytest.mark.parametrize("maker,size", [(make_sort, 4), (make_count, 4), (make_unique_reverse, 4),
                                        (make_unique_bigram_copy, 2), (make_unique_copy, 4)])
def test_sequence_programs_proved_at_a_small_vocabulary(maker, size):
    case = maker(size)
    v = prove(Miter(case.build_program(), case.spec), QUICK)
    assert v.status == "holds" and "every length" in v.scope, v.reason


def test_a_wrong_program_is_not_proved():
    copy = make_unique_copy(3)
    v = prove(Miter(unique_reverse_program(copy.input_alphabet)(), copy.spec), QUICK)
    assert v.status == "refuted"
