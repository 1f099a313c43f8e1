"""A SEQUENCE task's specification (verify/sequence_spec.py) as a Z3 machine: the task's own state
plus the frame every sequence task shares, `<bos> input <sep> answer`, read under teacher forcing.

Frame state: `s.phase` — 0 before <bos>, 1 reading the input, 2 reading the answer (every answer symbol
so far was the right next one), 3 outside the task (anything else: a second <bos>, an input outside the
domain, a wrong answer symbol, a symbol after <eos>); `s.sep_seen` — a separator has been read.
A position is checked (`care`) exactly when the phase after it is 2, i.e. at the separator of an input
in the domain and at every right answer symbol before <eos>: the positions `verify check` compares.
There the labels are the task's `next` Booleans, one per `next` output of the program.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import z3

from verify.sequence_spec import ANSWER, BOOL, INPUT, OUTSIDE, START, NumpyOps, SequenceSpec, Symbol, Where, Z3Ops
from verify.smt.encode import BOOL as SORT_BOOL, FINITE, INT as SORT_INT, StateVar
from verify.smt.specs import SpecMachine, check_alphabet

PHASE_NAMES = ("before <bos>", "input", "answer", "outside the task")
PHASE_VAR, SEP_VAR = "s.phase", "s.sep_seen"


def _state_var(name: str, sort) -> StateVar:
    if sort == BOOL:
        return StateVar(f"s.{name}", SORT_BOOL, label=name)
    if isinstance(sort, int) and not isinstance(sort, bool):
        return StateVar(f"s.{name}", FINITE, size=sort, label=name)
    return StateVar(f"s.{name}", SORT_INT, label=name)


def _z3(value):
    """A value the folded Z3Ops left as a Python constant, as a Z3 term."""
    if isinstance(value, (bool, np.bool_)):
        return z3.BoolVal(bool(value))
    if isinstance(value, (int, np.integer)):
        return z3.IntVal(int(value))
    return value


class SequenceMachine(SpecMachine):
    kind = "sequence task"

    def __init__(self, spec: SequenceSpec, alphabet: Sequence[str], title: str = ""):
        check_alphabet(spec.alphabet, alphabet, "the sequence specification")
        if tuple(alphabet) != tuple(spec.alphabet):
            from verify.problems import UserError
            raise UserError("the program lists the task's alphabet in another order "
                            f"({' '.join(alphabet)} vs {' '.join(spec.alphabet)})")
        self.spec = spec
        self.alphabet = tuple(alphabet)
        self.keys = spec.keys
        self.arity = len(self.keys)
        self.title = title
        self.vars = (StateVar(PHASE_VAR, FINITE, size=4, label="phase"),
                     StateVar(SEP_VAR, SORT_BOOL, label="separator read"),
                     *[_state_var(name, sort) for name, sort, _ in spec.variables])

    # ------------------------------------------------------------------ the machine
    def init_values(self):
        out = {PHASE_VAR: START, SEP_VAR: False}
        out.update({f"s.{name}": init for name, _, init in self.spec.variables})
        return out

    def _task(self, state) -> Dict[str, object]:
        return {name: state[f"s.{name}"] for name, _, _ in self.spec.variables}

    def _advance(self, o, state, sym: Symbol, labelled: bool = True):
        """(labels, care, new state) for either backend (labels None unless `labelled`)."""
        spec, phase = self.spec, state[PHASE_VAR]
        pre = self._task(state)
        is_sep = sym.is_(spec.sep)
        is_input = sym.among(spec.input_alphabet)
        right = spec.next(o, pre)
        correct = o.or_(*[o.and_(sym.is_(t), right[t]) for t in spec.outputs if t != spec.eos])
        in_phase = lambda k: phase == k
        at = Where(input=o.and_(in_phase(INPUT), is_input), sep=o.and_(in_phase(INPUT), is_sep),
                   answer=o.and_(in_phase(ANSWER), correct),
                   before_sep=o.and_(o.not_(state[SEP_VAR]), o.not_(is_sep)))
        post = spec.step(o, pre, sym, at)
        new_phase = o.ite(in_phase(START), o.ite(sym.is_(spec.bos), INPUT, OUTSIDE),
                          o.ite(in_phase(INPUT), o.ite(is_input, INPUT,
                                                       o.ite(o.and_(is_sep, spec.valid(o, post)), ANSWER, OUTSIDE)),
                                o.ite(at.answer, ANSWER, OUTSIDE)))
        new = {PHASE_VAR: new_phase, SEP_VAR: o.or_(state[SEP_VAR], is_sep)}
        new.update({f"s.{name}": post[name] for name, _, _ in spec.variables})
        if not labelled:
            return None, None, new
        labels = spec.next(o, post)
        return [labels[t] for t in spec.outputs], new_phase == ANSWER, new

    def step_checked(self, state, symbol, phase):
        o = Z3Ops()
        labels, care, new = self._advance(o, state, Symbol(o, self.alphabet, symbol))
        return [_z3(x) for x in labels], _z3(care), {k: _z3(v) for k, v in new.items()}

    def step(self, state, symbol, phase):
        labels, _, new = self.step_checked(state, symbol, phase)
        return labels, new

    def reference(self, tokens):
        return self.spec.reference(tokens)

    def trace(self, ids, offset=0):
        ids = np.asarray(ids)
        batch, n = ids.shape
        o = NumpyOps(batch)
        init = self.init_values()
        state = {k: np.full(batch, v, dtype=bool if isinstance(v, bool) else np.int64) for k, v in init.items()}
        out = {k: np.empty((batch, n), dtype=v.dtype) for k, v in state.items()}
        for i in range(n):
            _, _, state = self._advance(o, state, Symbol(o, self.alphabet, ids[:, i]), labelled=False)
            state = {k: np.broadcast_to(np.asarray(v), (batch,)) for k, v in state.items()}
            for k, v in state.items():
                out[k][:, i] = v
        return out

    def labels(self, ids) -> Tuple[np.ndarray, np.ndarray]:
        """(labels (batch, n, outputs), care (batch, n)) of the specification machine itself, on numpy:
        tests compare them with `reference` (the case's own answer)."""
        ids = np.asarray(ids)
        batch, n = ids.shape
        o = NumpyOps(batch)
        state = {k: np.full(batch, v, dtype=bool if isinstance(v, bool) else np.int64)
                 for k, v in self.init_values().items()}
        labels = np.zeros((batch, n, self.arity), dtype=bool)
        care = np.zeros((batch, n), dtype=bool)
        for i in range(n):
            lab, c, state = self._advance(o, state, Symbol(o, self.alphabet, ids[:, i]))
            labels[:, i] = np.stack([np.broadcast_to(x, (batch,)) for x in lab], axis=1)
            care[:, i] = c
        return labels, care

    def hints(self, states: Dict[str, np.ndarray]) -> List[Tuple[str, object, object]]:
        """The specification's own guessed invariants (SequenceSpec.invariants) true on every sampled state,
        as (text, z3 formula over a state, check on concrete values): candidates for Houdini, which proves
        or drops them like the rest."""
        if not self.spec.invariants or not states:
            return []
        names = [name for name, _, _ in self.spec.variables] + ["phase", "sep_seen"]
        rows = len(next(iter(states.values())))
        sampled = {n: np.asarray(states[f"s.{n}"]) for n in names}
        out = []
        for text, formula in self.spec.invariants:
            if not bool(np.all(formula(NumpyOps(rows), sampled))):
                continue

            def holds(S, formula=formula):
                return _z3(formula(Z3Ops(), {n: S[f"s.{n}"] for n in names}))

            def check(values, formula=formula):
                return bool(np.all(formula(NumpyOps(1), {n: np.array([values[f"s.{n}"]]) for n in names})))
            out.append((f"spec: {text}", holds, check))
        return out

    def sample_words(self, seed: int) -> List[np.ndarray]:
        return self.spec.words(np.random.default_rng(seed))

    def describe(self):
        return f"{self.title or 'the task'} ({self.spec.text}), at every position from the separator on, teacher-forced"

    def value_name(self, var, value):
        if var == PHASE_VAR and 0 <= int(value) < len(PHASE_NAMES):
            return PHASE_NAMES[int(value)]
        return str(value)
