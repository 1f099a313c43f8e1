"""The next-symbol references of the counter languages (Case.next_symbols, cases/counter_languages.py),
checked against an independent search over each case's CounterSpec: a symbol is legal after a prefix
when some member extends the prefix and that symbol, <eos> exactly at members, and the live sampler
draws only prefixes that can still become members. The search follows the values of the spec's linear
forms (its constraints depend on nothing else) and the automaton's state, within a budget of symbols
that is larger than any completion these short prefixes need."""
import operator
from functools import lru_cache

import numpy as np
import pytest

from verify.catalogue import all_cases, get_case
from verify.spec import CounterSpec

COUNTER = [c.name for c in all_cases() if isinstance(c.spec, CounterSpec)]
OPS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">=": operator.ge, ">": operator.gt}
BUDGET = 40          # prefixes below are at most 8 long: no completion needs more (Boolean-5: 1 + 4·8 values)


def completions(spec: CounterSpec):
    """completable(word): is some word·v with |v| ≤ BUDGET a member (the word itself when non-empty)?"""
    forms = spec.always + spec.final
    steps = {a: tuple(dict(f.coeffs).get(a, 0) for f in forms) for a in spec.alphabet}
    auto = spec.automaton
    delta = auto.delta if auto else {}

    def holds(constraints, values):
        return all(OPS[c.op](v, c.bound) for c, v in zip(constraints, values))

    def advance(values, q, a):
        return tuple(v + d for v, d in zip(values, steps[a])), (delta.get((q, a)) if auto else None)

    @lru_cache(maxsize=None)
    def reach(values, q, budget, nonempty):
        if auto and q is None:                                   # the automaton's rejecting sink
            return False
        if nonempty and holds(spec.final, values[len(spec.always):]) and (not auto or q in auto.accepting):
            return True
        if budget == 0 or (nonempty and not holds(spec.always, values[:len(spec.always)])):
            return False                                          # this prefix would become a proper one
        return any(reach(*advance(values, q, a), budget - 1, True) for a in spec.alphabet)

    def completable(word):
        values, q = (0,) * len(forms), auto.start if auto else None
        for i, a in enumerate(word):
            if i and not holds(spec.always, values[:len(spec.always)]):
                return False
            values, q = advance(values, q, a)
        return reach(values, q, BUDGET, bool(word))
    return completable


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "anbncndn" else n for n in COUNTER])
def test_counter_languages_have_a_next_symbol_reference_that_matches_a_search(name):
    case = get_case(name)
    ref, spec, sigma = case.next_symbols, case.spec, case.alphabet
    assert ref is not None
    completable = completions(spec)
    rng = np.random.default_rng(0)
    for n in range(1, 9):
        words = ref.live(rng, 12, n)
        assert words.shape == (12, n) and words.dtype == np.int64
        legal, final = ref.continuations(words)
        assert legal.shape == (12, n + 1, len(sigma)) and final.shape == (12, n + 1)
        for row, w in enumerate(words):
            word = tuple(sigma[i] for i in w)
            assert completable(word), (name, word)                       # the sampler stays live
            for p in range(n + 1):
                prefix = word[:p]
                assert final[row, p] == (p > 0 and spec.accepts(prefix)), (name, prefix)
                for k, a in enumerate(sigma):
                    assert legal[row, p, k] == completable(prefix + (a,)), (name, prefix, a)


@pytest.mark.parametrize("name", COUNTER)
def test_the_live_sampler_reaches_members_and_non_members(name):
    """The walks are not degenerate: over many draws some prefixes are members and some are not."""
    ref = get_case(name).next_symbols
    words = ref.live(np.random.default_rng(1), 400, 12)
    _, final = ref.continuations(words)
    assert final.any() and not final.all()
    assert len({tuple(w) for w in words}) > 5


def test_the_search_itself_catches_a_wrong_reference():
    """The oracle is not vacuous: a Dyck-1 reference that lets ')' follow a balanced prefix is caught."""
    spec = get_case("dyck1").spec
    completable = completions(spec)
    assert completable(("(",)) and not completable((")",)) and completable(("(", ")"))
    assert not completable(("(", ")", ")"))


def test_next_symbol_batches_for_a_counter_language_use_its_reference():
    from torch_bridge.data import NEXT_SYMBOL, PAD_LABEL, TaskData
    pytest.importorskip("torch")
    case = get_case("dyck1")
    data = TaskData(case, NEXT_SYMBOL)
    b = data.sample(np.random.default_rng(0), 16, 1, 20)
    legal, final = case.next_symbols.continuations(b.ids[:, 1:])        # padding rows are <bos>: cut below
    for x, y, n in zip(b.ids, b.targets, b.lengths):
        word = x[1:n]
        depth = np.concatenate([[0], np.cumsum(np.where(word == 0, 1, -1))])
        assert (depth >= 0).all()
        assert (y[:n, data.index["("]] == 1).all()
        assert (y[:n, data.index[")"]] == (depth > 0)).all()
        assert (y[:n, data.index[case.eos]] == ((depth == 0) & (np.arange(n) > 0))).all()
        assert (y[:n, data.index[case.bos]] == PAD_LABEL).all() and (y[n:] == PAD_LABEL).all()


def test_a_language_without_any_next_symbol_reference_is_refused():
    from dataclasses import replace

    from torch_bridge.data import NEXT_SYMBOL, TaskData
    from verify.problems import UserError
    bare = replace(get_case("dyck1"), next_symbols=None)
    with pytest.raises(UserError, match="next-symbol reference"):
        TaskData(bare, NEXT_SYMBOL)


@pytest.mark.parametrize("depth", [2, 3, 4, 12])
def test_nested_blocks_are_members_of_their_exact_length_shaped_as_the_papers(depth):
    """D-n's paper inputs: members of D-n (the DFA accepts every one), exactly the length asked, the same pool
    for every run (seeded by depth and length alone), and the generator's shape: the strings reach the full
    depth (D-2 to D-4)."""
    case = get_case(f"d{depth}")
    draw = case.members.draw
    for n in (2, 10, 50, 120):
        rows = draw(np.random.default_rng(n), 40, n)
        assert rows.shape == (40, n)
        assert case.spec.labels(rows)[:, -1].all()
        height = np.cumsum(np.where(rows == 0, 1, -1), axis=1)
        assert (height >= 0).all() and (height <= depth).all()
        if n >= 2 * depth + 2 and depth <= 4:   # D-12: the inner strings run out (×3/4 a level) before depth 12
            assert (height.max(axis=1) == depth).all()
        assert (draw(np.random.default_rng(n), 40, n) == rows).all()
    with pytest.raises(ValueError, match="even"):
        draw(np.random.default_rng(0), 1, 7)


def test_next_symbol_inputs_are_the_papers_or_walks_as_asked():
    """inputs="paper" draws D-2's nested blocks (every input a whole member); "walks" draws live walks, most of
    which end inside a block; the two are keyed apart, and walks keep the key runs had before the choice."""
    from torch_bridge.data import NEXT_SYMBOL, TaskData, inputs_key
    case = get_case("d2")
    rng = np.random.default_rng(0)
    paper = TaskData(case, NEXT_SYMBOL).sample(rng, 200, 2, 50)
    walks = TaskData(case, NEXT_SYMBOL, "walks").sample(rng, 200, 2, 50)
    ends = lambda b: np.array([case.spec.labels(x[None, 1:n])[0, -1] for x, n in zip(b.ids, b.lengths)])
    assert ends(paper).all() and (paper.lengths % 2 == 1).all()          # + <bos>: odd token counts
    assert ends(walks).mean() < 0.7
    assert inputs_key(case, NEXT_SYMBOL, "paper") == "nested blocks" and inputs_key(case, NEXT_SYMBOL, "walks") == ""
    aa = get_case("aa_star")
    assert inputs_key(aa, NEXT_SYMBOL, "paper") == "" and inputs_key(aa, NEXT_SYMBOL, "walks") == "walks"
    assert inputs_key(case, "membership", "paper") == ""
    with pytest.raises(Exception, match="inputs must be one of"):
        TaskData(case, NEXT_SYMBOL, "random")
