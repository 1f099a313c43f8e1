"""Specifications: the regex compiler agrees with Python's `re`, tables and JSON load, machines
agree with their own references, and mismatched alphabets are clear errors."""
import itertools
import json
import re

import numpy as np
import pytest
import z3

from verify.problems import UserError
from verify.smt.encode import z3_value
from verify.smt.specs import (CountPredicate, automaton_from_table, bind, load_spec, regex_to_automaton)
from verify.spec import CounterSpec, LinearConstraint

PATTERNS = ["(ab)*", "a*b*", "(a|b)*abb", "a+b?a", "((aa)*|b)(ba)*", ".a.", "[ab]c*", "", "a(b|c)*c"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_regex_automaton_agrees_with_python_re(pattern):
    alphabet = ("a", "b", "c")
    dfa = regex_to_automaton(pattern, alphabet)
    rx = re.compile(pattern.replace(".", "[abc]"))
    for n in range(0, 7):
        for w in itertools.product(alphabet, repeat=n):
            assert dfa.accepts(w) == bool(rx.fullmatch("".join(w))), (pattern, w)


def _machine_labels(machine, word):
    """Run a spec machine concretely through Z3 terms (ground, simplified)."""
    ids = [machine.alphabet.index(t) for t in word]
    state = machine.init_state()
    labels = []
    for i, s in enumerate(ids):
        lab, state = machine.step(state, s, 0)
        labels.append(tuple(z3_value(z3.simplify(x)) for x in lab))
    return labels


@pytest.mark.parametrize("spec", [
    regex_to_automaton("(a|bb)*a", ("a", "b")),
    CounterSpec(("a", "b"), always=(LinearConstraint.make({"a": 1, "b": -1}, ">=", 0),),
                final=(LinearConstraint.make({"a": 1, "b": -2}, "==", 0),)),
    CountPredicate(("a", "b"), lambda c, n: z3.And(c["a"] >= c["b"], n <= 4), "#a >= #b and n <= 4"),
])
@pytest.mark.slow
def test_machine_steps_agree_with_the_reference_on_every_prefix(spec):
    machine = bind(spec, ("b", "a"))  # the program's order differs from the spec's: mapped by name
    for n in range(1, 7):
        for w in itertools.product(("a", "b"), repeat=n):
            labels = _machine_labels(machine, w)
            for i in range(1, n + 1):
                assert labels[i - 1] == machine.reference(w[:i]), (w, i)


def test_trace_agrees_with_the_machine():
    spec = CounterSpec(("a", "b"), always=(LinearConstraint.make({"a": 1, "b": -1}, ">=", 0),))
    m = bind(spec, ("a", "b"))
    ids = np.array([[0, 1, 1, 0, 0]])
    tr = m.trace(ids)
    state = m.init_state()
    for i, s in enumerate(ids[0]):
        _, state = m.step(state, int(s), 0)
        for v in m.vars:
            assert z3_value(z3.simplify(state[v.name])) == tr[v.name][0, i], (v.name, i)


def test_transition_table_and_files(tmp_path):
    table = {"alphabet": ["0", "1"], "start": "e", "accepting": ["e"],
             "transitions": {"e": {"0": "e", "1": "o"}, "o": {"0": "o", "1": "e"}}}
    dfa = automaton_from_table(table)
    assert dfa.accepts(("1", "1")) and not dfa.accepts(("1",))
    (tmp_path / "t.json").write_text(json.dumps(table))
    spec, _ = load_spec(str(tmp_path / "t.json"), ("0", "1"))
    assert spec == dfa
    (tmp_path / "r.re").write_text("// even number of ones\n(0|10*1)*\n")
    spec, title = load_spec(str(tmp_path / "r.re"), ("0", "1"))
    assert spec.accepts(("1", "0", "1")) and not spec.accepts(("1", "0"))
    spec, _ = load_spec("regex:0*", ("0", "1"))
    assert spec.accepts(("0", "0")) and not spec.accepts(("1",))


def test_bad_specs_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="alphabet"):
        bind(regex_to_automaton("a*", ("a",)), ("a", "b"))
    with pytest.raises(UserError, match="unbalanced"):
        regex_to_automaton("(ab", ("a", "b"))
    with pytest.raises(UserError, match="transition table"):
        automaton_from_table({"alphabet": ["a"]})
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(UserError, match="not valid JSON"):
        load_spec(str(tmp_path / "bad.json"), ("a",))
    with pytest.raises(UserError, match="does not exist"):
        load_spec(str(tmp_path / "missing.crasp"), ("a",))
    with pytest.raises(UserError, match="no machine-readable specification"):
        load_spec("parity", ("0", "1"))


@pytest.mark.slow
def test_report_column_runs_proofs_only_when_asked(tmp_path, monkeypatch):
    import time
    from verify.catalogue import get_case
    from verify.smt.induction import prove
    from verify.smt.miter import Miter
    from verify.smt.report_columns import NOT_RUN, columns, record_case
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "c.json"))
    case = get_case("tomita4")
    t = time.monotonic()
    cold = columns(case, prove=False)["z3"]
    assert time.monotonic() - t < 5 and cold == NOT_RUN          # nothing proved unless asked
    record_case(case, prove(Miter(case.build_program(), case.spec)))
    assert columns(case, prove=False)["z3"] == NOT_RUN                        # what `prove` left does not leak in
    assert columns(case, prove=True)["z3"].startswith("proved for all lengths")
    assert columns(get_case("parity"))["z3"] == "no spec"
