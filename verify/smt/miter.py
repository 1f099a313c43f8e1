"""The product of a program and a specification: one machine whose transition says whether the
program's output and the specification's label disagree on the prefix just read ("bad").

State = program state + specification state + the phase of the next position (mod Δ, the lcm of
both machines' periods). Under last-position acceptance the program's label at position i is its
output at i; under end-marker acceptance it is its output at an end marker placed after i.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import z3

from verify.crasp import ast as A
from verify.crasp.interpreter import ACCEPT_END, ACCEPT_LAST, ACCEPTANCE_MODES
from verify.crasp.linear import StraightLine
from verify.problems import UserError
from verify.smt.encode import FINITE, Phase, ProgramMachine, State, StateVar, joint_period
from verify.smt.specs import SpecLike, SpecMachine, bind, program_labels

PHASE = "phase"


class Miter:
    def __init__(self, program: Union[A.Program, StraightLine], spec: SpecLike,
                 mode: str = ACCEPT_LAST, offset: int = 0, keys: Optional[Sequence[str]] = None,
                 spec_title: str = ""):
        """`keys`: the program outputs compared; default: the ones the specification fixes (a sequence
        task: every `next` output), else `accept`."""
        if mode not in ACCEPTANCE_MODES:
            raise UserError(f"acceptance mode must be one of {', '.join(ACCEPTANCE_MODES)}")
        self.machine = ProgramMachine(program, prefix="p")
        self.line = self.machine.line
        outputs = dict(self.line.outputs)
        self.spec: SpecMachine = bind(spec, self.machine.alphabet, mode, offset, keys or ("accept",), spec_title)
        keys = tuple(keys or self.spec.keys or ("accept",))
        missing = [k for k in keys if k not in outputs]
        if missing:
            have = ", ".join(outputs) or "none"
            raise UserError(f"the program has no output {', '.join(missing)} (its outputs: {have}); "
                            + ("checking a sequence task needs one `next` output per answer symbol and <eos>"
                               if self.spec.keys else "checking a language needs `accept = ...`"))
        self.keys, self.mode, self.offset = keys, mode, int(offset)
        if self.spec.arity != len(self.keys):
            raise UserError(f"the specification gives {self.spec.arity} label(s) per position but "
                            f"{len(self.keys)} output(s) are compared")
        self.alphabet = self.machine.alphabet
        self.period = joint_period(self.machine.period, self.spec.period)
        phase = [StateVar(PHASE, FINITE, size=self.period, label="pos mod %d" % self.period)] \
            if self.period > 1 else []
        self.vars: Tuple[StateVar, ...] = tuple(self.machine.vars) + tuple(self.spec.vars) + tuple(phase)

    # ------------------------------------------------------------ machine
    def init_values(self) -> Dict[str, object]:
        out = {**self.machine.init_values(), **self.spec.init_values()}
        if self.period > 1:
            out[PHASE] = (1 + self.offset) % self.period
        return out

    def init_state(self) -> State:
        state = {**self.machine.init_state(), **self.spec.init_state()}
        if self.period > 1:
            state[PHASE] = (1 + self.offset) % self.period  # a Python int: concrete positions
        return state

    def _phase(self, state: State):
        if self.period == 1:
            return 0
        p = state[PHASE]
        return p if isinstance(p, int) else Phase(p, self.period)

    def step(self, state: State, symbol) -> Tuple[object, List, List, State]:
        """(bad, program labels, spec labels, next state) for reading `symbol` in `state`."""
        phase = self._phase(state)
        vals, prog_state = self.machine.step(state, symbol, phase)
        if isinstance(phase, int):
            nxt = (phase + 1) % self.period
        else:
            nxt = phase.next()
        if self.mode == ACCEPT_END:
            end_phase = nxt if isinstance(nxt, int) else Phase(nxt, self.period)
            end_vals, _ = self.machine.step(prog_state, self.machine.end_id, end_phase)
            mine = self.machine.outputs(end_vals, self.keys)
        else:
            mine = self.machine.outputs(vals, self.keys)
        theirs, care, spec_state = self.spec.step_checked(state, symbol, phase)
        new = {**prog_state, **spec_state}
        if self.period > 1:
            new[PHASE] = nxt
        bad = z3.Or([a != b for a, b in zip(mine, theirs)])
        if not z3.is_true(care):
            bad = z3.And(care, bad)
        return bad, mine, theirs, new

    def symbol_domain(self, symbol) -> List:
        return [symbol >= 0, symbol < len(self.alphabet)]

    # ------------------------------------------------------------ concrete
    def replay(self, tokens: Sequence[str]) -> Tuple[Tuple[bool, ...], Optional[Tuple[bool, ...]]]:
        """(interpreter's labels, specification reference's labels — None where the word is not
        checked) for a whole word: no Z3."""
        mine = program_labels(self.line, tokens, self.keys, self.mode, self.offset)
        theirs = self.spec.reference(tokens)
        return mine, None if theirs is None else tuple(theirs)

    def trace(self, ids: np.ndarray) -> Dict[str, np.ndarray]:
        """Concrete state after each position, from the interpreter and the spec's own code."""
        ids = np.asarray(ids)
        out = {**self.machine.trace(ids, self.offset), **self.spec.trace(ids, self.offset)}
        if self.period > 1:
            pos = np.arange(1, ids.shape[1] + 1, dtype=np.int64)
            out[PHASE] = np.broadcast_to((pos + 1 + self.offset) % self.period, ids.shape).copy()
        return out

    def describe_claim(self) -> str:
        keys = ", ".join(self.keys)
        how = "read at the last position" if self.mode == ACCEPT_LAST else "read at an appended end marker"
        return f"the program's {keys} ({how}) equals {self.spec.describe()}"

    def value_name(self, var: str, value) -> str:
        namer = getattr(self.spec, "value_name", None)
        return namer(var, value) if namer else str(value)
