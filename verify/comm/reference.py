"""What a communication bound needs from a task: the symbols of each half and Bob's required
outputs for a batch of (Alice half, Bob half) pairs.

The split [decision, documented in the command's help]:
- LANGUAGE tasks: the word x·y, Alice holds x (positions 1..N), Bob holds y (N+1..N+M);
  Bob must output the per-position label (prefix membership) at each of his positions.
- SEQUENCE tasks: the full sequence `<bos> x y <sep> answer <eos>` with input x·y;
  Alice holds `<bos>` and x (the first N input symbols), Bob holds y, `<sep>`, the answer and
  `<eos>`.  Under teacher forcing Bob must predict every answer token and `<eos>`; at the answer
  position after the first k−1 answer tokens his view is (y, `<sep>`, those tokens), so two Alice
  halves can share a message iff, for every y, the answers (with `<eos>`) coincide.  Bob's
  required output for (x, y) is therefore the whole answer.
Either way one row of the communication matrix is x ↦ (y ↦ required outputs), and two Alice halves
need different messages iff their rows differ — the exact one-way bound counts distinct rows.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Set, Tuple

import numpy as np

from verify.case import LANGUAGE, SEQUENCE, Case
from verify.problems import UserError

INVALID = -3  # required-output entry for an input outside the task's domain
PAD = -1      # after the end of a shorter answer

# Friendly names the paper's prose uses for catalogue rows.
ALIASES = {"copy": "repeat_copy", "repeat-copy": "repeat_copy", "unique-copy": "unique_copy",
           "majority-binary": "bin_majority"}


@dataclass(frozen=True)
class CommTask:
    name: str
    format: str                      # LANGUAGE or SEQUENCE
    symbols: Tuple[str, ...]         # the symbols of the input halves
    # (x ids (B, N), y ids (B, M)) -> (required outputs (B, k) int64, valid (B,) bool)
    required: Callable[[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]
    vectorized: bool                 # numpy over the batch (fast) or one Python call per pair
    case: Optional[Case] = None
    note: str = ""                   # e.g. how an alias resolved
    # a user's reference function: the distinct answers it gave so far (at most two kept), so that a
    # reference constant on every input it was given is refused (`refuse_constant`), not bounded
    answers: Optional[Set] = None

    def refuse_constant(self) -> None:
        """A UserError when a reference function gave one and the same answer on every input it was given: a
        constant task has nothing to bound, and usually means the wrong --alphabet (a reference over {a, b}
        evaluated on words over {0, 1})."""
        if self.answers is not None and len(self.answers) == 1:
            (answer,) = self.answers
            raise UserError(f"the reference {self.name!r} answered {answer!r} on every input it was given (words "
                            f"over {{{', '.join(self.symbols)}}}): a constant task has no communication bound to "
                            f"find. Check --alphabet: the reference must be evaluated on words over the symbols "
                            f"it reads")

    @property
    def split_description(self) -> str:
        if self.format == LANGUAGE:
            return "word x·y; Alice holds x (positions 1..N), Bob holds y (N+1..2N) and outputs every prefix label"
        return ("sequence <bos> x y <sep> answer <eos>; Alice holds <bos> and x (the first N input symbols), "
                "Bob holds y, <sep>, the teacher-forced answer and <eos> and predicts every answer token")

    def tokens(self, ids: np.ndarray) -> Tuple[str, ...]:
        return tuple(self.symbols[int(k)] for k in ids)


def _reference_error(name: str, err: Exception, tokens) -> UserError:
    shown = " ".join(tokens)
    return UserError(f"the reference of {name!r} raised {type(err).__name__}: {err} "
                     f"(on input {shown!r}); fix the reference function and run again", exit_code=1)


def _language_from_labels(case: Case) -> CommTask:
    symbols = tuple(case.alphabet)

    def required(x: np.ndarray, y: np.ndarray):
        ids = np.concatenate([x, y], axis=1)
        try:
            labels = np.asarray(case.labels(ids), dtype=bool)
        except Exception as err:  # a user's labels function
            raise _reference_error(case.name, err, tuple(symbols[int(k)] for k in ids[0])) from err
        return labels[:, x.shape[1]:].astype(np.int8), np.ones(len(ids), dtype=bool)

    return CommTask(case.name, LANGUAGE, symbols, required, vectorized=True, case=case)


def _sequence_from_answer(case: Case) -> CommTask:
    symbols = tuple(case.input_alphabet)
    out_ids = {a: i for i, a in enumerate(case.alphabet)}
    for tok in (case.eos,):
        out_ids.setdefault(tok, len(out_ids))

    def required(x: np.ndarray, y: np.ndarray):
        rows, valid = [], np.ones(len(x), dtype=bool)
        for b in range(len(x)):
            tokens = tuple(symbols[int(k)] for k in x[b]) + tuple(symbols[int(k)] for k in y[b])
            try:
                if case.valid_input is not None and not case.valid_input(tokens):
                    valid[b] = False
                    rows.append(())
                    continue
                ans = tuple(case.answer(tokens)) + (case.eos,)
            except Exception as err:
                raise _reference_error(case.name, err, tokens) from err
            try:
                rows.append(tuple(out_ids[a] for a in ans))
            except KeyError as err:
                raise UserError(f"the reference of {case.name!r} answered {err.args[0]!r}, which is not "
                                f"in the task's alphabet", exit_code=1) from None
        width = max((len(r) for r in rows), default=0)
        out = np.full((len(x), max(width, 1)), PAD, dtype=np.int64)
        for b, r in enumerate(rows):
            if valid[b]:
                out[b, :len(r)] = r
            else:
                out[b, :] = INVALID
        return out, valid

    return CommTask(case.name, SEQUENCE, symbols, required, vectorized=False, case=case)


def from_case(case: Case, note: str = "") -> CommTask:
    if case.format == LANGUAGE:
        if case.labels is None:
            raise UserError(f"case {case.name!r} has no reference labels")
        task = _language_from_labels(case)
    else:
        if case.answer is None:
            raise UserError(f"case {case.name!r} has no reference answer")
        task = _sequence_from_answer(case)
    return CommTask(task.name, task.format, task.symbols, task.required, task.vectorized, case, note)


def from_function(spec: str, fn: Callable, alphabet: Sequence[str], format: Optional[str] = None) -> CommTask:
    """A user's reference: `fn(tokens) -> bool` (a language: membership of the word) or
    `fn(tokens) -> sequence of tokens` (a sequence task: the answer).  `format` None: decided by
    what fn returns on the one-symbol word."""
    symbols = tuple(alphabet)
    if not symbols:
        raise UserError("--alphabet must name at least one symbol")
    answers: Set = set()

    def seen(answer):
        if len(answers) < 2:
            answers.add(answer)
        return answer

    if format is None:
        try:
            probe = fn((symbols[0],))
        except Exception as err:
            raise _reference_error(spec, err, (symbols[0],)) from err
        format = LANGUAGE if isinstance(probe, (bool, np.bool_)) else SEQUENCE
    if format == LANGUAGE:
        def required(x: np.ndarray, y: np.ndarray):
            n, m = x.shape[1], y.shape[1]
            out = np.zeros((len(x), m), dtype=np.int8)
            for b in range(len(x)):
                word = tuple(symbols[int(k)] for k in x[b]) + tuple(symbols[int(k)] for k in y[b])
                for j in range(m):
                    try:
                        out[b, j] = seen(bool(fn(word[: n + j + 1])))
                    except Exception as err:
                        raise _reference_error(spec, err, word[: n + j + 1]) from err
            return out, np.ones(len(x), dtype=bool)
        return CommTask(spec, LANGUAGE, symbols, required, vectorized=False, answers=answers)
    vocab: dict = {}

    def required(x: np.ndarray, y: np.ndarray):
        rows = []
        for b in range(len(x)):
            tokens = tuple(symbols[int(k)] for k in x[b]) + tuple(symbols[int(k)] for k in y[b])
            try:
                ans = fn(tokens)
                ans = seen((ans,) if isinstance(ans, str) else tuple(ans))
            except Exception as err:
                raise _reference_error(spec, err, tokens) from err
            rows.append(tuple(vocab.setdefault(a, len(vocab)) for a in ans))
        out = np.full((len(x), max(1, max((len(r) for r in rows), default=1)) + 1), PAD, dtype=np.int64)
        for b, r in enumerate(rows):
            out[b, :len(r)] = r
            out[b, len(r)] = -2  # end of answer: distinguishes a prefix from a longer answer
        return out, np.ones(len(x), dtype=bool)
    return CommTask(spec, SEQUENCE, symbols, required, vectorized=False, answers=answers)


def load_function(spec: str) -> Callable:
    """`module:function` -> the object (imported; errors become one clear message)."""
    if ":" not in spec:
        raise UserError(f"{spec!r} is neither a catalogue case nor `module:function`")
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:
        raise UserError(f"cannot import module {module_name!r} for the reference {spec!r}: "
                        f"{type(err).__name__}: {err}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj) and not isinstance(obj, Case):
        raise UserError(f"{spec!r} is not callable (a reference is a function of the token tuple)")
    return obj


def _takes_no_arguments(fn) -> bool:
    import inspect
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return not params  # a reference takes the token tuple; a factory of a Case takes nothing


def _no_reference_options(target: str, what: str, alphabet, format) -> None:
    given = [flag for flag, value in (("--alphabet", alphabet), ("--format", format)) if value]
    if given:
        raise UserError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to a reference "
                        f"function (module:function); {target} is {what}")


def resolve(target: str, alphabet: Optional[Sequence[str]] = None, format: Optional[str] = None) -> CommTask:
    """A catalogue case name (or alias such as `copy`) or `module:function`. A reference function needs its
    `alphabet` (never guessed); importing the module and calling the function run the user's code."""
    from verify.catalogue import get_case
    if ":" in target:
        obj = load_function(target)
        if not isinstance(obj, Case) and _takes_no_arguments(obj):  # a factory: `module:function` -> Case
            try:
                obj = obj()
            except Exception as err:
                raise UserError(f"{target} raised {type(err).__name__}: {err} when called to build the task; "
                                f"fix it and run again") from None
            if not isinstance(obj, Case):
                raise UserError(f"{target} takes no arguments, so it should return a Case (see verify/case.py), "
                                f"not {type(obj).__name__}; a reference function takes the token tuple")
        if isinstance(obj, Case):
            _no_reference_options(target, "a Case, which has its own alphabet and format", alphabet, format)
            return from_case(obj)
        if not alphabet:
            raise UserError(f"{target} is a reference function: give the alphabet of its input with --alphabet "
                            f"(e.g. --alphabet a,b; it is evaluated on words over exactly those symbols), or make "
                            f"{target} a zero-argument function returning a Case (verify/case.py)")
        return from_function(target, obj, alphabet, format)
    _no_reference_options(target, "a catalogue task, which has its own alphabet and format", alphabet, format)
    note = ""
    name = target
    if target in ALIASES:
        name = ALIASES[target]
        note = f"{target!r} resolves to the catalogue task {name!r}"
    return from_case(get_case(name), note)
