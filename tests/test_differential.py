"""One arithmetic, every backend (issue 9 item 2): on random programs with huge constants and
factors (up to ~10^30, past int64) and deep guards (distances up to 20), the interpreter (its int64
and its Python-integer paths, and the per-position definitions of tests/programs.py), the Z3
encoding evaluated on the concrete input, and the exact one-way protocol compute the same value
of every operation at every position; the compiled Limit Transformer (its exact rational forward
pass, wherever its float64 weights are exact: values within 2^53) computes the same Boolean
outputs, and the random programs expose every `let` as one."""
import itertools

import numpy as np
import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.comm.protocol import check_protocol
from verify.crasp import ast as A
from verify.crasp import builder as B
from verify.crasp.interpreter import evaluate
from verify.crasp.linear import flatten
from verify.crasp.values import FLOAT64_EXACT, fits_float64, fits_int64, max_abs_value, max_literal
from verify.smt.encode import unroll, z3_value

from programs import naive_outputs

ALPHABET = ("a", "b", "c")
# one large base K per program, and literals j·K + r: huge values then cancel (K·#a − K·#b
# compared with K), so comparisons near the boundary decide outputs instead of being trivially true
BASES = [10 ** 6, 2 ** 31, 2 ** 50, 10 ** 15, 2 ** 53, 2 ** 62, 2 ** 63, 2 ** 64 + 7, 10 ** 18, 10 ** 30]
distances = st.frozensets(st.integers(0, 20), min_size=1, max_size=4)


@st.composite
def programs(draw, max_lets: int = 10):
    """Random well-typed programs using every kind of operation, with huge literals and guards."""
    base = draw(st.one_of(st.sampled_from(BASES), st.integers(2 ** 20, 10 ** 30)))
    literal = st.one_of(st.integers(-3, 3),
                        st.builds(lambda j, r: j * base + r, st.sampled_from([-2, -1, 1, 2]), st.integers(-2, 2)))
    bools = [B.sym(a) for a in ALPHABET]
    counts = [B.count(B.sym("a"))]
    b = B.ProgramBuilder(ALPHABET, source="<random>")
    pb = lambda: draw(st.sampled_from(bools))  # noqa: E731
    pc = lambda: draw(st.sampled_from(counts))  # noqa: E731
    for k in range(draw(st.integers(2, max_lets))):
        choice = draw(st.integers(0, 15))
        if choice == 0:
            e, is_bool = B.not_(pb()), True
        elif choice == 1:
            e, is_bool = B.and_(pb(), pb()), True
        elif choice == 2:
            e, is_bool = B.or_(pb(), pb()), True
        elif choice == 3:
            m = draw(st.integers(1, 4))
            e, is_bool = B.periodic(m, draw(st.sets(st.integers(0, m - 1), min_size=1))), True
        elif choice == 4:
            op = draw(st.sampled_from(["<", "<=", "==", "!=", ">=", ">"]))
            how = draw(st.integers(0, 2))
            if how == 2:  # f·x against j·f + r: decided by x = j exactly, one unit either side
                f = draw(literal)
                left, right = B.scale(f, pc()), draw(st.integers(0, 3)) * f + draw(st.integers(-1, 1))
            else:
                left, right = pc(), (pc() if how else draw(literal))
            e, is_bool = B.compare(op, left, right), True
        elif choice == 5:
            e, is_bool = B.count(pb()), False
        elif choice == 6:
            e, is_bool = B.guarded(pb(), draw(distances)), False
        elif choice == 7:
            e, is_bool = B.add(pc(), pc() if draw(st.booleans()) else draw(literal)), False
        elif choice == 8:
            e, is_bool = B.sub(pc(), pc()), False
        elif choice == 9:
            e, is_bool = B.scale(draw(literal), pc()), False
        elif choice == 10:
            e, is_bool = B.ite(pb(), pc(), draw(literal)), False
        elif choice == 11:
            e, is_bool = B.min_(pc(), pc()), False
        elif choice == 12:
            e, is_bool = B.max_(pc(), pc()), False
        elif choice == 13:
            e, is_bool = B.prev(pb(), draw(st.integers(1, 20))), True
        elif choice == 14:
            e, is_bool = B.const(draw(literal)), False
        else:  # f·x − f·y + r: huge terms that cancel, leaving a small value to compare
            f = draw(literal)
            e, is_bool = B.add(B.sub(B.scale(f, pc()), B.scale(f, pc())), draw(literal)), False
        ref = b.let(f"v{k}", e)
        (bools if is_bool else counts).append(ref)
        # every value is observable through a Boolean output (the compiled model has no others)
        b.label(f"v{k}", ref if is_bool else B.gt(ref, 0))
    b.accept(bools[-1])
    b.label("c", B.ge(counts[-1], draw(literal)))
    return b.build()


def interpreter_values(line, ids, offset, python_ints=False):
    """Every op's values as Python objects (ints/bools), batch × positions."""
    ev = evaluate(line, ids, offset, python_ints=python_ints)
    return [[[(bool(x) if op.type == "bool" else int(x)) for x in row] for row in ev.value(op.index)]
            for op in line.ops], ev


def check_interpreter(program, line, ids, offset):
    """Auto path == forced Python-integer path == the definitions; no silent wrap."""
    values, ev = interpreter_values(line, ids, offset)
    assert ev.exact_objects == (not fits_int64(line, ids.shape[1]))
    exact, ev2 = interpreter_values(line, ids, offset, python_ints=True)
    assert ev2.exact_objects and values == exact
    alphabet = list(line.alphabet)
    for b, row in enumerate(ids):
        want = naive_outputs(program, [alphabet[i] for i in row], offset)
        for key, index in line.outputs:
            assert values[index][b] == want[key], key
    return values


def check_z3(line, ids, offset, values):
    """The Z3 step function on the first input: unrolled on concrete symbols (every term ground,
    simplified), and on symbolic ones pinned to the word by the solver (the path refute uses)."""
    word = [int(s) for s in ids[0]]
    for i, row in enumerate(unroll(line, word, offset)):
        for op in line.ops:
            got = z3_value(z3.simplify(row[op.index]))
            assert got == values[op.index][0][i], (op.label(), i + 1)
    if len(word) > 12:
        return
    symbols = [z3.Int(f"w{i}") for i in range(len(word))]
    rows = unroll(line, symbols, offset)
    solver = z3.Solver()
    solver.add(*[s == v for s, v in zip(symbols, word)])
    assert solver.check() == z3.sat
    model = solver.model()
    for i, row in enumerate(rows):
        for op in line.ops:
            got = z3_value(model.eval(row[op.index], model_completion=True))
            assert got == values[op.index][0][i], (op.label(), i + 1)


def check_protocol_all_splits(line, ids, offset):
    """Bob's value of every operation at every position of his half, from Alice's bit string."""
    for split in range(1, ids.shape[1]):
        result = check_protocol(line, ids, split, offset)
        assert result.agree, result.mismatch
        assert result.within_bound


def check_compiled(program, line, ids, offset, values) -> str:
    """The compiled model's exact (rational) forward pass on every Boolean output. Its weights are
    float64, so it is compared wherever the static bound keeps every value and literal within
    2^53; the skip is decided by that bound alone, never by catching a failure."""
    from verify.limit.compiler import compile_program
    from verify.limit.forward import forward
    n = ids.shape[1]
    if not fits_float64(line, n):
        assert max(max_abs_value(line, n), max_literal(line)) > FLOAT64_EXACT
        return "skipped: values past 2^53"
    model = compile_program(program)
    result = forward(model, ids, offset, precision="exact")
    for key, index in line.outputs:
        assert result.outputs[key].tolist() == values[index], key
    return "checked"


def differential(program, ids, offset, compiled=True):
    line = flatten(program)
    values = check_interpreter(program, line, ids, offset)
    check_z3(line, ids, offset, values)
    check_protocol_all_splits(line, ids, offset)
    return check_compiled(program, line, ids, offset, values) if compiled else None


def random_words(seed, batch, n):
    return np.random.default_rng(seed).integers(0, len(ALPHABET), size=(batch, n))


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(1, 24), st.integers(1, 3), st.integers(0, 3), st.integers(0, 2 ** 32 - 1))
def test_every_backend_computes_the_same_values(program, n, batch, offset, seed):
    differential(program, random_words(seed, batch, n), offset, compiled=n <= 10)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_lets=14), st.integers(1, 26), st.integers(1, 4), st.integers(0, 5),
       st.integers(0, 2 ** 32 - 1))
def test_every_backend_computes_the_same_values_many(program, n, batch, offset, seed):
    differential(program, random_words(seed, batch, n), offset, compiled=n <= 14)


def all_words(n):
    return np.array(list(itertools.product(range(len(ALPHABET)), repeat=n)), dtype=np.int64)


@pytest.mark.slow
@pytest.mark.parametrize("base", [10 ** 6, 2 ** 50, 2 ** 62, 2 ** 63, 10 ** 30])
def test_comparisons_one_unit_from_a_huge_boundary(base):
    """K·#a against j·K + r for r = -1, 0, 1 and every operator, K·#a − K·#b against 0, and a
    huge constant added and removed: every output is decided by one unit out of K, on every word
    of length 3 (the compiled model too while the values stay within 2^53)."""
    b = B.ProgramBuilder(ALPHABET)
    x = b.let("x", B.scale(base, B.count(B.sym("a"))))
    d = b.let("d", B.sub(x, B.scale(base, B.count(B.sym("b")))))
    back = b.let("back", B.sub(B.add(d, base + 1), base))
    for op in A.COMPARISONS:
        for r in (-1, 0, 1):
            b.label(f"x {op} 2K{r:+d}", B.compare(op, x, 2 * base + r))
        b.label(f"d {op} 0", B.compare(op, d, 0))
        b.label(f"back {op} 1", B.compare(op, back, 1))
    b.accept(B.eq(back, B.add(d, 1)))
    program = b.build()
    words = all_words(3)
    assert differential(program, words, 0) == ("checked" if base * 3 + base + 1 <= FLOAT64_EXACT
                                               else "skipped: values past 2^53")
    got = evaluate(program, words).output("label x == 2K+0")[:, -1]
    assert got.tolist() == [int(np.sum(w == 0)) == 2 for w in words]


@pytest.mark.parametrize("factor", [10 ** 6, 10 ** 30])
@pytest.mark.parametrize("n", [1, 2, 21, 23])
def test_huge_factors_and_a_deep_guard_on_a_fixed_program(factor, n):
    """K·#a − (K−1)·#[b @ 0, 7, 20] against 2^63 (or 20·K), and 2^62·#a against ±2^63, at lengths
    that reach the guard at distance 20: every backend (the compiled model too for K = 10^6)."""
    b = B.ProgramBuilder(ALPHABET)
    a = b.let("a", B.count(B.sym("a")))
    far = b.let("far", B.guarded(B.sym("b"), [0, 7, 20]))
    big = b.let("big", B.sub(B.scale(factor, a), B.scale(factor - 1, far)))
    b.label("far", B.eq(far, 2))
    b.label("big", B.gt(big, factor * 3 - 2))
    threshold = 2 ** 63 if factor > 2 ** 53 else 20 * factor
    b.accept(B.gt(big, threshold))
    if factor > 2 ** 53:
        wrap = b.let("wrap", B.scale(2 ** 62, a))
        b.label("c", B.eq(B.add(B.min_(big, 2 ** 63), B.max_(wrap, -(2 ** 63))), 0))
    program = b.build()
    words = random_words(11, 3, n)
    words[0, ::7] = 1  # "b" at distances 0, 7, 14, 21: the far guard sees several
    verdict = differential(program, words, 1)
    assert verdict == ("checked" if factor * n <= FLOAT64_EXACT else "skipped: values past 2^53")
    words = np.zeros((1, n), dtype=np.int64)  # all "a": big = K·n
    assert bool(evaluate(program, words).output("accept")[0, -1]) == (factor * n > threshold)
