"""Every catalogue program agrees with its task's reference: exhaustively on short inputs and on
sampled longer ones (languages: the accept output at every position equals prefix membership;
sequences: under teacher forcing, from the separator to the last answer token, exactly one `next`
is true and it names the following token), for several position offsets where the program claims
offset independence. A mutated program must be caught, so these checks can fail."""
from __future__ import annotations

import dataclasses
import itertools
from typing import List, Optional, Tuple

import numpy as np
import pytest

from verify.case import LANGUAGE, SEQUENCE, Case
from verify.catalogue import all_cases, get_case
from verify.crasp import ast as A
from verify.crasp.builder import ProgramBuilder, and_, count, eq, gt, lt, or_, sub, sym
from verify.crasp.fragment import period
from verify.crasp.interpreter import encode, next_tokens, prefix_outputs

WITH_PROGRAM = [c for c in all_cases() if c.program is not None]


def language_mismatch(case: Case, program, max_strings: int = 2 ** 14,
                      sample_lengths=(7, 33, 120), samples: int = 200, seed: int = 0
                      ) -> Optional[Tuple[str, ...]]:
    """The first prefix where program and reference disagree, or None."""
    k = len(case.alphabet)
    length = 1
    while k ** (length + 1) <= max_strings and length < 20:
        length += 1
    batches = [np.array(list(itertools.product(range(k), repeat=length)), dtype=np.int64)]
    rng = np.random.default_rng(seed)
    batches += [case.sampler(rng, samples, n) for n in sample_lengths]
    for ids in batches:
        bad = prefix_outputs(program, ids) != case.labels(ids)
        if bad.any():
            b, i = np.argwhere(bad)[0]
            return tuple(case.alphabet[x] for x in ids[b, : i + 1])
    return None


def sequence_inputs(case: Case, max_inputs: int = 3000, sample_lengths=(5, 12, 30, 48, 99),
                    samples: int = 40, seed: int = 0) -> List[Tuple[str, ...]]:
    out: List[Tuple[str, ...]] = []
    for n in range(1, 12):
        if len(case.input_alphabet) ** n > max_inputs:
            break
        out += [x for x in itertools.product(case.input_alphabet, repeat=n) if case.valid_input(x)]
    rng = np.random.default_rng(seed)
    for n in sample_lengths:
        if n % case.length_multiple == 0 and n <= case.max_input_len:
            out += case.sampler(rng, samples, n)
    return out


def sequence_mismatch(case: Case, program, inputs, offset: int = 0):
    """The first input whose teacher-forced predictions differ from the answer, or None."""
    by_length = {}
    for x in inputs:
        full = case.full_sequence(x)
        by_length.setdefault(len(full), []).append((x, full))
    for n, items in sorted(by_length.items()):
        ids = encode(case.alphabet, [full for _, full in items])
        predicted = next_tokens(program, ids, offset)
        for b, (x, _) in enumerate(items):
            sep = len(x) + 1
            if not np.array_equal(predicted[b, sep:n - 1], ids[b, sep + 1:]):
                return x
    return None


@pytest.mark.parametrize("case", [c for c in WITH_PROGRAM if c.format == LANGUAGE], ids=lambda c: c.name)
def test_language_programs_agree_with_references(case):
    assert language_mismatch(case, case.program()) is None


@pytest.mark.parametrize("case", [c for c in WITH_PROGRAM if c.format == SEQUENCE], ids=lambda c: c.name)
def test_sequence_programs_agree_with_references(case):
    program = case.program()
    inputs = sequence_inputs(case)
    assert len(inputs) > 100
    # sequence programs locate the separator and BOS themselves, so any offset must work
    for offset in sorted({0, 1, 5, *range(period(program))}):
        assert sequence_mismatch(case, program, inputs, offset) is None, f"offset {offset}"


@pytest.mark.parametrize("name", ["aa_star", "aaaa_star", "abab_star"])
def test_periodic_languages_need_offset_zero_mod_period(name):
    """The documented assumption is real: with offset 1 the program recognizes a shifted language."""
    case = get_case(name)
    program = case.program()
    ids = np.array([[0, 1] * 8 if len(case.alphabet) == 2 else [0] * 16])
    assert (prefix_outputs(program, ids, offset=0) == case.labels(ids)).all()
    assert (prefix_outputs(program, ids, offset=1) != case.labels(ids)).any()


# ------------------------------------------------------------------ the checks can fail
def _wrong_tomita2():
    # allows the balance to reach 2: accepts 1100
    b = ProgramBuilder(("0", "1"), "wrong")
    d = b.let("d", sub(count(sym("1")), count(sym("0"))))
    b.accept(and_(eq(count(or_(lt(d, 0), gt(d, 2))), 0), eq(d, 0)))
    return b.build()


def test_a_wrong_language_program_is_caught():
    found = language_mismatch(get_case("tomita2"), _wrong_tomita2())
    # the first disagreement closes a "1100" block, which the wrong program accepts
    assert found is not None and found[-4:] == ("1", "1", "0", "0")


def test_a_wrong_sequence_program_is_caught():
    case = get_case("bin_majority")
    program = case.program()
    # swap the two answers
    outputs = tuple(dataclasses.replace(o, name={"0": "1", "1": "0"}.get(o.name, o.name))
                    for o in program.outputs)
    wrong = dataclasses.replace(program, outputs=outputs)
    assert sequence_mismatch(case, wrong, [("1",), ("0", "0", "1")]) == ("1",)


def test_interleave_program_breaks_without_its_bos_trick():
    """Reading strands from absolute residues (ignoring <bos>) fails at some offset: the offset
    independence of the catalogue program is not vacuous."""
    case = get_case("bin_majority_interleave")
    program = case.program()

    def pin(node):
        # replace every "bos at residue r" test by r == 1 (true only when offset ≡ 0)
        if isinstance(node, A.Compare) and isinstance(node.left, A.Count) and \
                isinstance(node.left.operand, A.And) and node.left.operand.left == A.Symbol("<bos>"):
            return A.BoolConst(node.left.operand.right.residues == frozenset({1}))
        return node

    lets = tuple(dataclasses.replace(let, expr=pin(let.expr)) for let in program.lets)
    pinned = dataclasses.replace(program, lets=lets)
    inputs = sequence_inputs(case, max_inputs=600, sample_lengths=(9, 30))
    assert sequence_mismatch(case, pinned, inputs, offset=0) is None
    assert sequence_mismatch(case, pinned, inputs, offset=1) is not None
