"""Specifications a claimed program is checked against, each as a Z3 machine plus an independent
reference used to replay counterexamples.

Kinds: a DFA (`verify.spec.Automaton`, from a case record, a regular expression or a transition
table), a counter specification (`verify.spec.CounterSpec`), another C-RASP program, a predicate
over prefix counts written with Z3 terms, a constant (for emptiness), and a sequence task
(`verify.sequence_spec.SequenceSpec`, encoded by verify/smt/sequence.py: checked only at the
teacher-forced positions from the separator on, `step_checked`).

Every machine is bound to the program's alphabet order: symbol id k is the program's k-th symbol,
id len(alphabet) the end marker. `step(state, symbol, phase)` returns the label(s) of the prefix
ending at this position and the next state; `reference(tokens)` computes the same labels of the
whole word without Z3 (automaton run, numpy counts, or the interpreter).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import z3

from verify.crasp import ast as A
from verify.crasp.checks import END_MARKER
from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST, ACCEPTANCE_MODES, encode, evaluate
from verify.crasp.linear import StraightLine
from verify.problems import UserError
from verify.smt.encode import BOOL, FINITE, INT, Phase, ProgramMachine, State, StateVar
from verify.spec import Automaton, CounterSpec, LinearConstraint


def check_alphabet(spec_alphabet: Sequence[str], alphabet: Sequence[str], what: str) -> None:
    a, b = set(spec_alphabet) - {END_MARKER}, set(alphabet) - {END_MARKER}
    if a != b:
        raise UserError(
            f"{what} is over the alphabet {{{', '.join(sorted(a))}}} but the program is over "
            f"{{{', '.join(sorted(b))}}}: "
            + "; ".join(x for x in (f"only the spec has {sorted(a - b)}" if a - b else "",
                                    f"only the program has {sorted(b - a)}" if b - a else "") if x))


def program_labels(line: StraightLine, tokens: Sequence[str], keys: Sequence[str], mode: str,
                   offset: int = 0) -> Tuple[bool, ...]:
    """What the interpreter says about a whole word: each output read at the last position
    (or at an appended end marker)."""
    seq = list(tokens) + ([END_MARKER] if mode == ACCEPT_END else [])
    ev = evaluate(line, encode(line.alphabet, [seq]), offset)
    return tuple((bool if line.ops[line.output_index(k)].type == "bool" else int)(ev.output(k)[0, -1])
                 for k in keys)


def _dfa_table(automaton: Automaton, alphabet: Sequence[str]) -> Tuple[np.ndarray, np.ndarray, int]:
    """delta[state, program symbol id] (sink last; the end marker goes to the sink)."""
    delta, final, start = automaton.tables()
    cols = [automaton.alphabet.index(a) for a in alphabet] + [len(automaton.alphabet)]
    return delta[:, cols], final, start


def _dfa_step(delta: np.ndarray, state, symbol):
    """z3 term for delta[state, symbol]: grouped by target state to keep it small."""
    nstates, nsym = delta.shape
    if isinstance(symbol, int):
        pairs = {}
        for q in range(nstates):
            pairs.setdefault(int(delta[q, symbol]), []).append(q)
        targets = sorted(pairs.items(), key=lambda t: -len(t[1]))
        term = z3.IntVal(targets[0][0])
        for t, qs in targets[1:]:
            term = z3.If(z3.Or([state == q for q in qs]), t, term)
        return term
    groups: Dict[int, list] = {}
    for q in range(nstates):
        for s in range(nsym):
            groups.setdefault(int(delta[q, s]), []).append((q, s))
    targets = sorted(groups.items(), key=lambda t: -len(t[1]))
    term = z3.IntVal(targets[0][0])
    for t, pairs in targets[1:]:
        term = z3.If(z3.Or([z3.And(state == q, symbol == s) for q, s in pairs]), t, term)
    return term


def _symbol_is(symbol, k: int):
    return z3.BoolVal(symbol == k) if isinstance(symbol, int) else symbol == k


class SpecMachine:
    """Interface shared by all specification machines."""

    alphabet: Tuple[str, ...]
    vars: Tuple[StateVar, ...] = ()
    period: int = 1
    arity: int = 1
    kind: str = ""

    def init_state(self) -> State:
        return {v.name: (z3.IntVal(x) if not isinstance(x, bool) else z3.BoolVal(x))
                for v, x in zip(self.vars, (self.init_values()[v.name] for v in self.vars))}

    def init_values(self) -> Dict[str, object]:
        return {}

    keys: Optional[Tuple[str, ...]] = None   # the program outputs compared, where the spec fixes them

    def step(self, state: State, symbol, phase) -> Tuple[List, State]:
        raise NotImplementedError

    def step_checked(self, state: State, symbol, phase) -> Tuple[List, object, State]:
        """(labels, whether this position is checked, next state): every position, unless the
        specification says otherwise (a sequence task checks only its teacher-forced answer positions)."""
        labels, new = self.step(state, symbol, phase)
        return labels, z3.BoolVal(True), new

    def reference(self, tokens: Sequence[str]) -> Optional[Tuple[bool, ...]]:
        """The labels of the whole word, or None where the word is not checked."""
        raise NotImplementedError

    def sample_words(self, seed: int) -> List[np.ndarray]:
        """Words (symbol ids, one array per length) worth sampling for invariant inference, beyond the
        generic uniform and block words."""
        return []

    def trace(self, ids: np.ndarray, offset: int = 0) -> Dict[str, np.ndarray]:
        return {}

    def describe(self) -> str:
        return self.kind


class DFAMachine(SpecMachine):
    kind = "finite automaton"

    def __init__(self, automaton: Automaton, alphabet: Sequence[str], title: str = ""):
        check_alphabet(automaton.alphabet, alphabet, "the automaton")
        self.automaton = automaton
        self.alphabet = tuple(alphabet)
        self.delta, self.final, self.start = _dfa_table(automaton, alphabet)
        names = list(automaton.states) + ["<sink>"]
        self.vars = (StateVar("s.q", FINITE, size=len(names), label="state"),)
        self.state_names = names
        self.title = title

    def init_values(self):
        return {"s.q": self.start}

    def step(self, state, symbol, phase):
        q = _dfa_step(self.delta, state["s.q"], symbol)
        accepting = [k for k in range(len(self.final)) if self.final[k]]
        label = z3.Or([q == k for k in accepting]) if accepting else z3.BoolVal(False)
        return [label], {"s.q": q}

    def reference(self, tokens):
        return (bool(self.automaton.accepts(tuple(tokens))),)

    def trace(self, ids, offset=0):
        ids = np.asarray(ids)
        state = np.full(ids.shape[0], self.start, dtype=np.int64)
        out = np.empty(ids.shape, dtype=np.int64)
        for i in range(ids.shape[1]):  # one vectorized step per position
            state = self.delta[state, ids[:, i]]
            out[:, i] = state
        return {"s.q": out}

    def describe(self):
        return f"{self.title or 'DFA'} ({len(self.automaton.states)} states)"

    def value_name(self, var: str, value: int) -> str:
        return self.state_names[value] if var == "s.q" and 0 <= value < len(self.state_names) else str(value)


class CounterMachine(SpecMachine):
    """CounterSpec: automaton (optional) and linear constraints over prefix symbol counts.
    State: a count per symbol, `ok` = every prefix so far satisfied `always`, the automaton state."""

    kind = "counter specification"

    def __init__(self, spec: CounterSpec, alphabet: Sequence[str], title: str = ""):
        check_alphabet(spec.alphabet, alphabet, "the counter specification")
        self.spec = spec
        self.alphabet = tuple(alphabet)
        self.dfa = DFAMachine(spec.automaton, alphabet) if spec.automaton is not None else None
        self.vars = tuple([StateVar(f"s.#{a}", INT, label=f"#{a}") for a in self.alphabet]
                          + [StateVar("s.ok", BOOL, label="alive")]
                          + (list(self.dfa.vars) if self.dfa else []))
        self.title = title

    def init_values(self):
        out = {f"s.#{a}": 0 for a in self.alphabet}
        out["s.ok"] = True
        if self.dfa:
            out.update(self.dfa.init_values())
        return out

    def step(self, state, symbol, phase):
        counts = {a: state[f"s.#{a}"] + z3.If(_symbol_is(symbol, k), 1, 0)
                  for k, a in enumerate(self.alphabet)}
        label = z3.And([state["s.ok"]] + [c.holds(counts) for c in self.spec.final])
        new = {f"s.#{a}": counts[a] for a in self.alphabet}
        new["s.ok"] = z3.And([state["s.ok"]] + [c.holds(counts) for c in self.spec.always])
        if self.dfa:
            (accept,), q = self.dfa.step(state, symbol, phase)
            label = z3.And(label, accept)
            new.update(q)
        return [label], new

    def reference(self, tokens):
        return (bool(self.spec.accepts(tuple(tokens))),)

    def trace(self, ids, offset=0):
        ids = np.asarray(ids)
        out = {}
        counts = {}
        for k, a in enumerate(self.alphabet):
            counts[a] = np.cumsum(ids == k, axis=1, dtype=np.int64)
            out[f"s.#{a}"] = counts[a]
        ok = np.ones(ids.shape, dtype=bool)
        for c in self.spec.always:
            ok &= c.holds(counts)
        out["s.ok"] = np.logical_and.accumulate(ok, axis=1)
        if self.dfa:
            out.update(self.dfa.trace(ids))
        return out

    def describe(self):
        parts = [f"always {c}" for c in self.spec.always] + [f"finally {c}" for c in self.spec.final]
        if self.dfa:
            parts.append(f"automaton with {len(self.spec.automaton.states)} states")
        return f"{self.title or 'counter specification'}: " + "; ".join(parts)

    def value_name(self, var, value):
        return self.dfa.value_name(var, value) if self.dfa else str(value)


class ProgramSpecMachine(SpecMachine):
    """Another C-RASP program (equivalence): its outputs `keys` under the same acceptance mode."""

    kind = "C-RASP program"

    def __init__(self, program: Union[A.Program, StraightLine], alphabet: Sequence[str],
                 keys: Sequence[str] = ("accept",), mode: str = ACCEPT_LAST, offset: int = 0,
                 title: str = ""):
        self.machine = ProgramMachine(program, prefix="q")
        check_alphabet(self.machine.alphabet, alphabet, "the specification program")
        if tuple(self.machine.alphabet) != tuple(alphabet):
            raise UserError("the two programs list their alphabets in different orders "
                            f"({' '.join(self.machine.alphabet)} vs {' '.join(alphabet)}); "
                            "write both headers in the same order")
        missing = [k for k in keys if k not in dict(self.machine.line.outputs)]
        if missing:
            raise UserError(f"the specification program has no output {', '.join(missing)}")
        self.alphabet = tuple(alphabet)
        self.keys, self.mode, self.offset = tuple(keys), mode, offset
        self.vars = self.machine.vars
        self.period = self.machine.period
        self.arity = len(self.keys)
        self.title = title

    def init_values(self):
        return self.machine.init_values()

    def step(self, state, symbol, phase):
        vals, new = self.machine.step(state, symbol, phase)
        if self.mode == ACCEPT_END:
            vals, _ = self.machine.step(new, self.machine.end_id, _advance(phase))
        return self.machine.outputs(vals, self.keys), new

    def reference(self, tokens):
        return program_labels(self.machine.line, tokens, self.keys, self.mode, self.offset)

    def trace(self, ids, offset=0):
        return self.machine.trace(ids, offset)

    def describe(self):
        return f"{self.title or 'program'} ({len(self.machine.line.ops)} operations)"


def _advance(phase):
    if isinstance(phase, int):
        return phase + 1  # callers reduce modulo the period
    return Phase(phase.next(), phase.period)


@dataclass(frozen=True)
class CountPredicate:
    """A language given by a predicate over the symbol counts of the word and its length:
    `predicate(counts, n)` gets z3 integers (counts[a] = #a) and returns a z3 Boolean.
    Replay evaluates the same predicate on concrete integers (z3 simplification, no solving)."""

    alphabet: Tuple[str, ...]
    predicate: Callable[[Mapping[str, object], object], object]
    text: str = "a predicate over prefix counts"


class PredicateMachine(SpecMachine):
    kind = "predicate over prefix counts"

    def __init__(self, spec: CountPredicate, alphabet: Sequence[str]):
        check_alphabet(spec.alphabet, alphabet, "the count predicate")
        self.spec = spec
        self.alphabet = tuple(alphabet)
        self.vars = tuple([StateVar(f"s.#{a}", INT, label=f"#{a}") for a in self.alphabet]
                          + [StateVar("s.n", INT, label="n")])

    def init_values(self):
        return {**{f"s.#{a}": 0 for a in self.alphabet}, "s.n": 0}

    def step(self, state, symbol, phase):
        counts = {a: state[f"s.#{a}"] + z3.If(_symbol_is(symbol, k), 1, 0)
                  for k, a in enumerate(self.alphabet)}
        n = state["s.n"] + 1
        label = self.spec.predicate(counts, n)
        return [label], {**{f"s.#{a}": counts[a] for a in self.alphabet}, "s.n": n}

    def reference(self, tokens):
        counts = {a: z3.IntVal(sum(1 for t in tokens if t == a)) for a in self.alphabet}
        value = z3.simplify(self.spec.predicate(counts, z3.IntVal(len(tokens))))
        if not (z3.is_true(value) or z3.is_false(value)):
            raise UserError(f"the count predicate does not evaluate to true/false on concrete counts: {value}")
        return (z3.is_true(value),)

    def trace(self, ids, offset=0):
        ids = np.asarray(ids)
        out = {f"s.#{a}": np.cumsum(ids == k, axis=1, dtype=np.int64) for k, a in enumerate(self.alphabet)}
        out["s.n"] = np.broadcast_to(np.arange(1, ids.shape[1] + 1, dtype=np.int64), ids.shape).copy()
        return out

    def describe(self):
        return self.spec.text


class ConstantMachine(SpecMachine):
    """The empty language (value False) or every word (True): emptiness and universality."""

    kind = "constant"

    def __init__(self, value: bool, alphabet: Sequence[str], arity: int = 1):
        self.value, self.alphabet, self.arity = bool(value), tuple(alphabet), arity

    def step(self, state, symbol, phase):
        return [z3.BoolVal(self.value)] * self.arity, {}

    def reference(self, tokens):
        return (self.value,) * self.arity

    def describe(self):
        return "the empty language" if not self.value else "every word"


# ------------------------------------------------------------------ regular expressions
def regex_to_automaton(pattern: str, alphabet: Sequence[str]) -> Automaton:
    """A regular expression over the given alphabet as a (minimal, complete) DFA; the syntax and
    its limits are documented in verify/regular/regex.py (symbols, "quoted" tokens, `.`, `[ab]`,
    ( ), |, * + ?, ε). Located UserErrors for bad input."""
    from verify.regular.regex import TooLarge, regex_dfa
    try:
        return regex_dfa(pattern, alphabet).to_automaton()
    except TooLarge as ex:
        raise UserError(f"regular expression {pattern[:80]!r}: {ex}")


# ------------------------------------------------------------------ loading
def automaton_from_table(data: Mapping, where: str = "the table") -> Automaton:
    """{"alphabet": [...], "start": q, "accepting": [...], "transitions": {q: {a: q'}}}"""
    try:
        alphabet = [str(a) for a in data["alphabet"]]
        table = {(str(q), str(a)): str(t) for q, row in data["transitions"].items() for a, t in row.items()}
        return Automaton.make(alphabet, table, str(data["start"]), [str(q) for q in data["accepting"]])
    except (KeyError, AttributeError, TypeError, ValueError) as ex:
        raise UserError(f"{where}: not a transition table ({ex}); expected "
                        '{"alphabet": [...], "start": "q0", "accepting": [...], '
                        '"transitions": {"q0": {"a": "q1"}}}')


def counter_from_json(data: Mapping, where: str) -> CounterSpec:
    """{"alphabet": [...], "always": [{"coeffs": {"a": 1, "b": -1}, "op": ">=", "bound": 0}],
    "final": [...], "automaton": optional transition table}"""
    try:
        alphabet = tuple(str(a) for a in data["alphabet"])
        make = lambda c: LinearConstraint.make({str(k): int(v) for k, v in c["coeffs"].items()},
                                               c["op"], int(c.get("bound", 0)))
        auto = data.get("automaton")
        unknown = sorted({str(k) for c in (*data.get("always", ()), *data.get("final", ()))
                          for k in c["coeffs"]} - set(alphabet))
        if unknown:
            raise UserError(f"{where}: the counter specification counts {', '.join(map(repr, unknown))}, "
                            f"which {'is' if len(unknown) == 1 else 'are'} not in its alphabet "
                            f"{{{', '.join(alphabet)}}}")
        return CounterSpec(alphabet, tuple(make(c) for c in data.get("always", ())),
                           tuple(make(c) for c in data.get("final", ())),
                           automaton_from_table({"alphabet": alphabet, **auto}, where) if auto else None)
    except (KeyError, AttributeError, TypeError, ValueError) as ex:
        raise UserError(f"{where}: not a counter specification ({ex})")


SpecLike = Union[Automaton, CounterSpec, CountPredicate, A.Program, StraightLine, SpecMachine]  # or a SequenceSpec


def bind(spec: SpecLike, alphabet: Sequence[str], mode: str = ACCEPT_LAST, offset: int = 0,
         keys: Sequence[str] = ("accept",), title: str = "") -> SpecMachine:
    """A Z3 machine for any specification object, over the program's alphabet order."""
    if mode not in ACCEPTANCE_MODES:
        raise UserError(f"acceptance mode must be one of {', '.join(ACCEPTANCE_MODES)}")
    if isinstance(spec, SpecMachine):
        check_alphabet(spec.alphabet, alphabet, "the specification")
        return spec
    if isinstance(spec, Automaton):
        return DFAMachine(spec, alphabet, title)
    if isinstance(spec, CounterSpec):
        return CounterMachine(spec, alphabet, title)
    if isinstance(spec, CountPredicate):
        return PredicateMachine(spec, alphabet)
    if isinstance(spec, (A.Program, StraightLine)):
        return ProgramSpecMachine(spec, alphabet, keys, mode, offset, title)
    from verify.sequence_spec import SequenceSpec
    if isinstance(spec, SequenceSpec):
        if mode != ACCEPT_LAST:
            raise UserError("a sequence task is checked at every position from the separator on; "
                            "--mode end applies to languages only")
        from verify.smt.sequence import SequenceMachine
        return SequenceMachine(spec, alphabet, title)
    raise UserError(f"not a specification: {type(spec).__name__}")


MAX_SPEC_BYTES = 16 << 20     # a --spec file is read whole: checked before reading


def _json_kind(data) -> str:
    return {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(type(data), "a number")


def load_spec(arg: str, alphabet: Sequence[str]) -> Tuple[object, str]:
    """--spec CASE|FILE|regex:PATTERN -> (specification object, title).

    CASE: a catalogue case's `spec`; FILE: .crasp (a program), .json (a transition table or a
    counter specification), .re/.regex (a regular expression); `regex:PATTERN` inline."""
    if arg.startswith("regex:"):
        return regex_to_automaton(arg[len("regex:"):], alphabet), f"regex {arg[6:]}"
    if os.path.isfile(arg) or arg.endswith((".crasp", ".json", ".re", ".regex")):
        if not os.path.lexists(arg):
            raise UserError(f"spec file {arg} does not exist")
        if arg.endswith(".crasp"):
            from verify.crasp.parser import load_program
            return load_program(arg), arg
        from verify.inputs import parse_json, read_text
        text = read_text(arg, "spec file", MAX_SPEC_BYTES)
        if arg.endswith((".re", ".regex")):
            pattern = " ".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))
            return regex_to_automaton(pattern, alphabet), f"regex {pattern.strip()}"
        if arg.endswith(".json"):
            data = parse_json(text, arg)
            if not isinstance(data, dict):
                raise UserError(f"{arg}: a .json specification is a JSON object (a transition table with "
                                f"\"transitions\", or a counter specification with \"always\"/\"final\"), "
                                f"not {_json_kind(data)}")
            if "transitions" in data and "always" not in data and "final" not in data:
                return automaton_from_table(data, arg), arg
            return counter_from_json(data, arg), arg
        raise UserError(f"spec file {arg}: unknown kind; use .crasp, .json, .re or .regex")
    from verify.catalogue import get_case
    case = get_case(arg)
    if case.spec is None:
        raise UserError(f"case {case.name!r} has no machine-readable specification (only regular and "
                        "counter languages carry one); give a .json table, a .re file or a .crasp program")
    return case.spec, f"case {case.name}"
