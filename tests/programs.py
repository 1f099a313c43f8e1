"""Random well-typed C-RASP programs (hypothesis strategies) and an independent, obviously
correct per-position evaluator used as an oracle for the vectorized interpreter."""
from __future__ import annotations

from hypothesis import strategies as st

from verify.crasp import ast as A

ALPHABET = ("a", "b", "c")


def bool_exprs(depth: int, names_bool=(), names_count=()):
    leaves = [st.sampled_from(ALPHABET).map(A.Symbol), st.booleans().map(A.BoolConst),
              st.builds(lambda m, r: A.Periodic(m, frozenset(x % m for x in r)),
                        st.integers(1, 4), st.lists(st.integers(0, 3), min_size=1, max_size=3))]
    if names_bool:
        leaves.append(st.sampled_from(names_bool).map(A.Ref))
    if depth <= 0:
        return st.one_of(leaves)
    sub_b = bool_exprs(depth - 1, names_bool, names_count)
    sub_c = count_exprs(depth - 1, names_bool, names_count)
    return st.one_of(
        *leaves,
        sub_b.map(A.Not),
        st.builds(A.And, sub_b, sub_b),
        st.builds(A.Or, sub_b, sub_b),
        st.builds(A.Compare, st.sampled_from(A.COMPARISONS), sub_c, sub_c),
    )


def count_exprs(depth: int, names_bool=(), names_count=()):
    leaves = [st.integers(-3, 3).map(A.IntConst)]
    if names_count:
        leaves.append(st.sampled_from(names_count).map(A.Ref))
    sub_b = bool_exprs(depth - 1 if depth > 0 else 0, names_bool, names_count) if depth > 0 else \
        st.sampled_from(ALPHABET).map(A.Symbol)
    counts = [sub_b.map(A.Count),
              st.builds(A.GuardedCount, sub_b, st.frozensets(st.integers(0, 4), min_size=1, max_size=3))]
    if depth <= 0:
        return st.one_of(*leaves, *counts)
    sub_c = count_exprs(depth - 1, names_bool, names_count)
    return st.one_of(
        *leaves, *counts,
        st.builds(A.Add, sub_c, sub_c), st.builds(A.Sub, sub_c, sub_c),
        st.builds(A.Scale, st.integers(-3, 3), sub_c),
        st.builds(A.IfThenElse, sub_b, sub_c, sub_c),
        st.builds(A.Min, sub_c, sub_c), st.builds(A.Max, sub_c, sub_c),
    )


@st.composite
def programs(draw, max_lets: int = 4, depth: int = 2):
    lets = []
    bools, counts = [], []
    for k in range(draw(st.integers(0, max_lets))):
        if draw(st.booleans()):
            e = draw(count_exprs(depth, tuple(bools), tuple(counts)))
            counts.append(f"c{k}")
            lets.append(A.Let(f"c{k}", e))
        else:
            e = draw(bool_exprs(depth, tuple(bools), tuple(counts)))
            bools.append(f"b{k}")
            lets.append(A.Let(f"b{k}", e))
    out = draw(bool_exprs(depth, tuple(bools), tuple(counts)))
    return A.Program(ALPHABET, tuple(lets), (A.Output("accept", "", out),))


def naive_value(expr: A.Expr, word, i: int, env, offset: int = 0):
    """Value of expr at 1-based position i of word, straight from SPEC §1's definitions."""
    v = lambda e, j=i: naive_value(e, word, j, env, offset)  # noqa: E731
    if isinstance(expr, A.Ref):
        return env[expr.name](i)
    if isinstance(expr, A.Symbol):
        return word[i - 1] == expr.symbol
    if isinstance(expr, A.BoolConst):
        return expr.value
    if isinstance(expr, A.IntConst):
        return expr.value
    if isinstance(expr, A.Not):
        return not v(expr.operand)
    if isinstance(expr, A.And):
        return v(expr.left) and v(expr.right)
    if isinstance(expr, A.Or):
        return v(expr.left) or v(expr.right)
    if isinstance(expr, A.Periodic):
        return (i + offset) % expr.modulus in expr.residues
    if isinstance(expr, A.Compare):
        a, b = v(expr.left), v(expr.right)
        return {"<": a < b, "<=": a <= b, "==": a == b, "!=": a != b, ">=": a >= b, ">": a > b}[expr.op]
    if isinstance(expr, A.Count):
        return sum(1 for j in range(1, i + 1) if v(expr.operand, j))
    if isinstance(expr, A.GuardedCount):
        return sum(1 for j in range(1, i + 1) if (i - j) in expr.distances and v(expr.operand, j))
    if isinstance(expr, A.Add):
        return v(expr.left) + v(expr.right)
    if isinstance(expr, A.Sub):
        return v(expr.left) - v(expr.right)
    if isinstance(expr, A.Scale):
        return expr.factor * v(expr.operand)
    if isinstance(expr, A.IfThenElse):
        return v(expr.then) if v(expr.condition) else v(expr.otherwise)
    if isinstance(expr, A.Min):
        return min(v(expr.left), v(expr.right))
    if isinstance(expr, A.Max):
        return max(v(expr.left), v(expr.right))
    raise TypeError(expr)


def naive_outputs(program: A.Program, word, offset: int = 0):
    """{output key: [value at position 1..n]} by direct evaluation."""
    env = {}
    for let in program.lets:
        cache = {}

        def f(i, e=let.expr, cache=cache):
            if i not in cache:
                cache[i] = naive_value(e, word, i, env, offset)
            return cache[i]
        env[let.name] = f
    return {out.key: [naive_value(out.expr, word, i, env, offset) for i in range(1, len(word) + 1)]
            for out in program.outputs}


def dyck1_program() -> A.Program:
    """Dyck-1 built with the builder API (the same tree the parser gives for examples/dyck1.crasp)."""
    from verify.crasp.builder import ProgramBuilder, and_, count, eq, lt, sym
    b = ProgramBuilder(["(", ")"])
    o = b.let("open", count(sym("(")))
    c = b.let("close", count(sym(")")))
    d = b.let("dips", count(lt(o, c)))
    b.accept(and_(eq(d, 0), eq(o, c)))
    return b.build()
