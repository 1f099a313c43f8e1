"""The Z3 encoding is exact: on random programs and random inputs, Z3's value of every operation
at every position equals the interpreter's."""
import numpy as np
import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.crasp import builder as B
from verify.crasp.interpreter import evaluate
from verify.crasp.linear import flatten
from verify.smt.encode import ProgramMachine, z3_value
from verify.smt.encode import unroll

ALPHABET = ("a", "b", "c")
# literals past int64 too: the encoding's unbounded Int must equal the interpreter's exact integers
literals = st.one_of(st.integers(-3, 3), st.sampled_from([2 ** 62, 2 ** 63, -(2 ** 64) - 1, 10 ** 30]))


@st.composite
def programs(draw):
    """Random well-typed programs of up to ~14 operations using every kind of operation, with
    literals past int64."""
    bools = [B.sym(a) for a in ALPHABET]
    counts = [B.count(B.sym("a"))]
    b = B.ProgramBuilder(ALPHABET)
    for k in range(draw(st.integers(2, 10))):
        choice = draw(st.integers(0, 13))
        pb = lambda: draw(st.sampled_from(bools))
        pc = lambda: draw(st.sampled_from(counts))
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
            e, is_bool = B.compare(op, pc(), draw(st.one_of(literals, st.just(None))) or pc()), True
        elif choice == 5:
            e, is_bool = B.count(pb()), False
        elif choice == 6:
            e, is_bool = B.guarded(pb(), draw(st.sets(st.integers(0, 3), min_size=1))), False
        elif choice == 7:
            e, is_bool = B.add(pc(), pc()), False
        elif choice == 8:
            e, is_bool = B.sub(pc(), pc()), False
        elif choice == 9:
            e, is_bool = B.scale(draw(literals), pc()), False
        elif choice == 10:
            e, is_bool = B.ite(pb(), pc(), draw(literals)), False
        elif choice == 11:
            e, is_bool = B.min_(pc(), pc()), False
        elif choice == 12:
            e, is_bool = B.max_(pc(), pc()), False
        else:
            e, is_bool = B.prev(pb(), draw(st.integers(1, 3))), True
        ref = b.let(f"v{k}", e)
        (bools if is_bool else counts).append(ref)
    b.accept(bools[-1])
    b.label("c", B.ge(counts[-1], 0))
    return b.build()


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(1, 9), st.integers(-3, 5), st.integers(0, 2 ** 31 - 1))
def test_every_operation_matches_the_interpreter(program, n, offset, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, len(ALPHABET), size=(1, n))
    line = flatten(program)
    expected = evaluate(line, ids, offset)
    # symbolic input constrained to the concrete word: the path the solver uses
    symbols = [z3.Int(f"w{i}") for i in range(n)]
    rows = unroll(line, symbols, offset)
    solver = z3.Solver()
    solver.add(*[s == int(v) for s, v in zip(symbols, ids[0])])
    assert solver.check() == z3.sat
    model = solver.model()
    for i in range(n):
        for op in line.ops:
            got = z3_value(model.eval(rows[i][op.index], model_completion=True))
            want = expected.value(op.index)[0, i]
            assert got == (bool(want) if op.type == "bool" else int(want)), (op.label(), i + 1)
    # concrete symbols: every term is ground and simplifies to the same value
    rows = unroll(line, [int(v) for v in ids[0]], offset)
    for i in range(n):
        for op in line.ops:
            got = z3_value(z3.simplify(rows[i][op.index]))
            assert got == expected.value(op.index)[0, i], (op.label(), i + 1)


def test_trace_matches_the_step_function():
    """The concrete state traces used for invariant inference equal the Z3 machine's states."""
    b = B.ProgramBuilder(ALPHABET)
    x = b.let("x", B.count(B.sym("a")))
    y = b.let("y", B.guarded(B.sym("b"), [0, 2]))
    b.accept(B.and_(B.prev(B.sym("c"), 1), B.lt(x, y)))
    m = ProgramMachine(b.build())
    ids = np.array([[0, 1, 2, 1, 0, 2, 2]])
    tr = m.trace(ids)
    state = m.init_state()
    for i, s in enumerate(ids[0]):
        _, state = m.step(state, int(s), 0)
        for v in m.vars:
            assert z3_value(z3.simplify(state[v.name])) == tr[v.name][0, i]


def test_guard_radius_beyond_the_limit_is_a_clear_error():
    from verify.problems import UserError
    b = B.ProgramBuilder(ALPHABET)
    b.accept(B.gt(B.guarded(B.sym("a"), [100]), 0))
    with pytest.raises(UserError, match="guard distance 100"):
        ProgramMachine(b.build())
