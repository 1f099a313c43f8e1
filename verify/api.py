"""The Python API: every `verify` command as one function, returning the object the command prints.

    >>> from verify import api
    >>> program = api.parse('alphabet "0" "1"\\naccept = #["1"] > 0')
    >>> api.run(program, "0 0 1").accepted
    True
    >>> v = api.check(program, case="tomita1", samples=0, max_len=6)   # tomita1 is 1*, not "has a 1"
    >>> v.status, v.counterexample.input
    ('refuted', ('0', '1'))
    >>> api.prove("tomita1").status                     # a catalogue case: its program against its automaton
    'holds'

Wherever a program is expected, give a catalogue (or user) case name, a Case, a path to a .crasp file,
.crasp text, or a Program; wherever a task is expected, a case name or a Case. Verdicts are
`verify.verdict.Verdict` (holds / refuted with a counterexample that replays / unknown with the reason);
every result has `as_dict()`, the JSON the command's `--json` prints. Mistakes raise
`verify.problems.UserError` (its `render()` is the message the command prints). torch is imported only
by `audit`. Your own tasks: `add_cases` (or the environment variable LENGTHGEN_VERIFY_CASES).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from verify.case import SEQUENCE, Case
from verify.crasp import ast as A
from verify.problems import UserError
from verify.verdict import JsonFields, Verdict

__all__ = ["parse", "load", "case", "cases", "add_cases", "run", "check", "refute", "prove", "equiv",
           "compile", "comm_complexity", "classify", "audit", "RunResult", "CompileResult"]

ProgramLike = Union[str, "os.PathLike[str]", Case, A.Program]
TaskLike = Union[str, Case]
_PROGRAM_STARTS = ("alphabet", "let", "accept", "next", "//")


# ----------------------------------------------------------------- programs and tasks
def parse(text: str, file: str = "<string>") -> A.Program:
    """.crasp text -> a checked Program (UserError with file:line:column when it is wrong).

    >>> parse('alphabet "a"\\naccept = pos % 2 in {0}').alphabet
    ('a',)
    """
    from verify.crasp.parser import parse_program
    return parse_program(text, file)


def load(path: Union[str, "os.PathLike[str]"]) -> A.Program:
    """A .crasp file -> a checked Program."""
    from verify.crasp.parser import load_program
    return load_program(str(path))


def case(name: Union[str, Case]) -> Case:
    """A case of the catalogue (or of the user's added cases) by name.

    >>> case("dyck1").format
    'language'
    """
    return _as_case(name)


def _as_case(name: Union[str, Case]) -> Case:
    if isinstance(name, Case):
        return name
    if not isinstance(name, str):
        raise UserError(f"expected a case name or a Case, got {type(name).__name__}")
    from verify.catalogue import get_case
    return get_case(name)


def cases() -> Tuple[Case, ...]:
    """Every case: the package's catalogue, then the user's (entry points, LENGTHGEN_VERIFY_CASES, add_cases)."""
    from verify.catalogue import all_cases
    return all_cases()


def add_cases(path: Union[str, "os.PathLike[str]"]) -> Tuple[Case, ...]:
    """Add the cases of a Python file defining CASES (or a folder of such files); returns them.
    Idempotent; validated (UserError naming the file and what is wrong). See docs/api.md."""
    from verify.catalogue import add_cases_from
    return add_cases_from(path)


def _looks_like_program_text(s: str) -> bool:
    return "\n" in s or s.lstrip().startswith(_PROGRAM_STARTS)


def _target(target: ProgramLike) -> Tuple[Optional[Case], A.Program]:
    """(the case, when the target names one; its program) — as the commands' load_target, plus
    Program objects, Case records and .crasp text."""
    if isinstance(target, A.Program):
        return None, target
    if isinstance(target, os.PathLike):
        return None, load(target)
    if isinstance(target, Case):
        found = target
    elif isinstance(target, str):
        if _looks_like_program_text(target):
            return None, parse(target)
        if target.endswith(".crasp") or os.sep in target or Path(target).is_file():   # as the commands read it
            return None, load(target)
        found = _as_case(target)
    else:
        raise UserError(f"expected a case name, a Case, a .crasp path or text, or a Program; got "
                        f"{type(target).__name__}")
    program = found.build_program()
    if program is None:
        raise UserError(f"case {found.name!r} has no C-RASP program: {found.no_program_reason}")
    return found, program


def _name(c: Optional[Case], program: A.Program) -> str:
    """What the commands call the target: the case's name, else the program's source (its file name)."""
    return c.name if c is not None else program.source


# ----------------------------------------------------------------- run
@dataclass(frozen=True)
class RunResult:
    """One input through a program: `verify run --json`."""
    program: str
    input: Tuple[str, ...]
    outputs_at_last_position: Dict[str, Any]
    accepted: Optional[bool] = None           # language programs
    generated: Optional[Tuple[str, ...]] = None   # sequence programs
    stopped_because: Optional[str] = None
    expected: Optional[Tuple[str, ...]] = None    # a case's reference answer (sequence tasks)
    correct: Optional[bool] = None
    trace: Optional[Dict[str, List[Any]]] = field(default=None, repr=False)

    def as_dict(self) -> Dict[str, Any]:
        from verify.verdict import _plain
        out: Dict[str, Any] = {"program": self.program, "input": list(self.input)}
        for key in ("generated", "stopped_because", "expected", "correct"):
            if getattr(self, key) is not None:
                out[key] = _plain(getattr(self, key))
        out["outputs_at_last_position"] = _plain(self.outputs_at_last_position)
        if self.accepted is not None:
            out["accepted"] = self.accepted
        if self.trace is not None:
            out["trace"] = _plain(self.trace)
        return out


def run(target: ProgramLike, input: Union[str, Sequence[str]], offset: int = 0, acceptance: str = "last",
        max_steps: Optional[int] = None, trace: bool = False) -> RunResult:
    """Run a program on one input (symbols separated by spaces, run together when each is one character,
    or a sequence of symbols). Sequence programs generate their answer (a bare task input is wrapped in
    `<bos> … <sep>` and the answer compared with the case's reference).

    >>> r = run("bin_majority", "1 1 0")
    >>> r.generated, r.correct
    (('1', '<eos>'), True)
    """
    from verify.crasp.checks import END_MARKER
    from verify.crasp.interpreter import ACCEPTANCE_MODES, generate, straight_line, tokenize
    from verify.limits import MAX_GENERATE_STEPS, MAX_OFFSET, require_range
    from verify.trace import trace as make_trace
    require_range("offset", offset, -MAX_OFFSET, MAX_OFFSET)
    if max_steps is not None:
        require_range("max_steps", max_steps, 1, MAX_GENERATE_STEPS)
    if acceptance not in ACCEPTANCE_MODES:
        raise UserError(f"acceptance must be one of {', '.join(ACCEPTANCE_MODES)}")
    c, program = _target(target)
    tokens = tokenize(program.alphabet, input) if isinstance(input, str) else list(input)
    unknown = [t for t in tokens if t not in program.alphabet]
    if unknown:
        raise UserError(f"input symbol {unknown[0]!r} is not in the program's alphabet {' '.join(program.alphabet)}")
    if not tokens:
        raise UserError(f"empty input: give at least one symbol (alphabet: {' '.join(program.alphabet)})")
    line = straight_line(program)
    is_sequence = any(k.startswith("next ") for k, _ in line.outputs)
    extra: Dict[str, Any] = {}
    if is_sequence:
        if c is not None and c.format == SEQUENCE and tokens[0] != c.bos:
            tokens = [c.bos, *tokens, c.sep]
        produced, why = generate(program, tokens, stop=c.eos if c is not None else "<eos>",
                                 max_steps=max_steps or 4 * len(tokens) + 16, offset=offset)
        extra.update(generated=tuple(produced), stopped_because=why)
        if c is not None and c.format == SEQUENCE and tokens[0] == c.bos and c.sep in tokens:
            x = tuple(tokens[1:tokens.index(c.sep)])
            if c.valid_input is None or c.valid_input(x):
                expected = (*c.answer(x), c.eos)
                extra.update(expected=expected, correct=tuple(produced) == expected)
    table = make_trace(program, tokens + ([END_MARKER] if acceptance == "end" and not is_sequence else []), offset)
    outputs = {k: table[k][-1] for k, _ in line.outputs}
    accepted = table["accept"][-1] if "accept" in table and not is_sequence else None
    return RunResult(_name(c, program), tuple(tokens), outputs, accepted, trace=table if trace else None, **extra)


# ----------------------------------------------------------------- check, refute, prove, equiv
def check(target: ProgramLike, case: Optional[TaskLike] = None, max_len: Optional[int] = None,
          samples: int = 1000, sample_max_len: Optional[int] = None, budget: int = 1 << 17, seed: int = 0,
          offset: int = 0) -> Verdict:
    """A program against a task's reference: every input up to a length, then random ones (`verify check`).
    `case` is the task (default: the case the target names).

    >>> check("dyck1", max_len=8, samples=100).status
    'holds'
    """
    from verify.checking import check_case
    from verify.limits import MAX_OFFSET, require_range, require_seed
    require_seed("seed", seed)
    require_range("offset", offset, -MAX_OFFSET, MAX_OFFSET)
    require_range("samples", samples, 0)
    require_range("budget", budget, 0)
    c, program = _target(target)
    if case is not None:
        c = _as_case(case)
    if c is None:
        raise UserError("say which task's reference to check the program against: check(program, case=NAME)")
    return check_case(c, program, max_len=max_len, samples=samples, sample_max_len=sample_max_len,
                      budget=budget, seed=seed, offset=offset)


def _miter(target: ProgramLike, spec: Any, mode: str, offset: int):
    """The program against `spec` (default: the case's own), as `verify refute/prove` build it."""
    from verify.smt.miter import Miter
    from verify.smt.specs import load_spec
    c, program = _target(target)
    if spec is None:
        if c is None or c.spec is None:
            raise UserError("give spec=: " + ("a program has no specification of its own" if c is None else
                                              f"case {c.name!r} has no machine-readable spec"))
        obj, title = c.spec, f"case {c.name}"
    elif isinstance(spec, Case):
        if spec.spec is None:
            raise UserError(f"case {spec.name!r} has no machine-readable spec")
        obj, title = spec.spec, f"case {spec.name}"
    elif isinstance(spec, (str, os.PathLike)):
        text = str(spec)
        obj, title = (parse(text), "a program") if _looks_like_program_text(text) else load_spec(text, program.alphabet)
    else:
        obj, title = spec, type(spec).__name__    # an Automaton, CounterSpec or Program
    return Miter(program, obj, mode, offset, spec_title=title)


def refute(target: ProgramLike, spec: Any = None, max_len: int = 40, mode: str = "last", offset: int = 0,
           timeout: float = 60.0, invariants: Optional[bool] = None, work: float = 1.0) -> Verdict:
    """The shortest word (length 1..max_len) on which the program's accept and the spec disagree
    (bounded model checking with Z3, `verify refute`, with the same defaults and work budget). `spec`: a
    case name or Case (its automaton or counter spec), an Automaton / CounterSpec / Program, a
    .json/.re/.crasp path, `regex:PATTERN`, or .crasp text; default: the target case's own.

    >>> refute('alphabet "0" "1"\\naccept = #["0"] == 0', spec="tomita1", max_len=6).status
    'holds'
    >>> refute('alphabet "0" "1"\\naccept = #["1"] > 0', spec="tomita1", max_len=6).counterexample.input
    ('1', '0')
    """
    from verify.commands.refute import INVARIANTS_FROM
    from verify.smt.cli_support import REFUTE_WORK, check_mode, check_options, induction_settings, scaled
    from verify.smt.refute import refute as bounded
    check_options(timeout=timeout, offset=offset, max_len=max_len, work=work)
    miter = _miter(target, spec, check_mode(mode), offset)
    inv = ()
    if invariants or (invariants is None and max_len > INVARIANTS_FROM):
        from verify.smt.induction import infer_invariant
        inv = infer_invariant(miter, induction_settings(work, timeout_s=timeout))
    return bounded(miter, max_len, timeout_s=timeout, invariant=inv, work=scaled(work, REFUTE_WORK))


def prove(target: ProgramLike, spec: Any = None, max_k: int = 3, bound: int = 16, mode: str = "last",
          offset: int = 0, timeout: float = 60.0, seed: int = 0, work: float = 1.0) -> Verdict:
    """A proof for every length (k-induction with inferred invariants, Z3; `verify prove`), the invariant
    in `evidence`; else a replayed counterexample or unknown with the length checked. `spec` as for refute.

    >>> v = prove("dyck1")
    >>> v.status, v.scope
    ('holds', 'every word of every length >= 1 over {(, )}')
    """
    from verify.smt.cli_support import check_mode, check_options, induction_settings
    from verify.smt.induction import prove as induction
    check_options(timeout=timeout, offset=offset, max_k=max_k, bound=bound, seed=seed, work=work)
    miter = _miter(target, spec, check_mode(mode), offset)
    return induction(miter, induction_settings(work, max_k=max_k, bound=bound, timeout_s=timeout, seed=seed))


def equiv(first: ProgramLike, second: Optional[ProgramLike] = None, empty: bool = False,
          outputs: Optional[Sequence[str]] = None, mode: str = "last", offset: int = 0,
          timeout: float = 60.0, work: float = 1.0, log: Optional[Callable[[str], None]] = None) -> Verdict:
    """Are two programs equivalent (the compared outputs at every position of every word)? With
    empty=True: does `first` accept no word? (`verify equiv`; `log` hears each phase)

    >>> equiv('alphabet "a" "b"\\naccept = #["a"] > 0', 'alphabet "a" "b"\\naccept = #["a"] >= 1').status
    'holds'
    """
    from verify.smt.cli_support import check_mode, check_options, induction_settings
    from verify.smt.equiv import empty as is_empty, equivalent
    check_mode(mode)
    check_options(timeout=timeout, offset=offset, work=work)
    if empty == (second is not None):
        raise UserError("give two programs, or one program and empty=True (--empty)")
    settings = induction_settings(work, timeout_s=timeout)
    _, a = _target(first)
    if empty:
        return is_empty(a, mode, offset, (list(outputs) if outputs else ["accept"])[0], settings, log=log)
    _, b = _target(second)
    return equivalent(a, b, mode, offset, list(outputs) if outputs else None, settings, log=log)


# ----------------------------------------------------------------- compile
@dataclass(frozen=True)
class CompileResult(JsonFields):
    """A program compiled to a Limit Transformer (Theorem 9), certified, realized at context N."""
    target: str
    model: Any                      # verify.limit's LimitTransformer
    finite: Any                     # the finite realization T_N
    certificate: Any                # verify.limit.certify.Certificate: (a) limit, (b) float64, (c) T_N
    regularizer: Any                # the theoretical regularizer's report (total, parts)
    practical_regularizer: float
    N: int
    comparison: str
    out: Optional[str] = None
    asked_out: bool = False         # an output file was asked for (out stays None when refuted: not written)
    task: Any = None                # verify.task.TaskVerdict: the program against its case's task (with a case)

    @property
    def status(self) -> str:
        """The Theorem 9 claim's status (about the program; `task` says whether the program is right)."""
        return self.certificate.status

    def as_dict(self) -> Dict[str, Any]:
        """The JSON of `verify compile --json`."""
        from verify.limit.regularizers import DEFAULT_THEORETICAL
        m, f, cert = self.model, self.finite, self.certificate
        data = {"target": self.target, **m.describe(), "output_keys": list(m.output_keys),
                "comparison": self.comparison, "hardness": m.layout.hardness, "bos_bias": m.layout.bos_bias,
                **cert.as_dict(), "float64_limit": cert.float64_horizon,
                "finite": {"N": self.N, "width": f.width, "dense_width": f.dense_width,
                           "parameters": f.parameter_count(), "dense_parameters": f.dense_parameter_count(),
                           "representation": "banded" if f.banded else "no φ to realize",
                           "agreement": cert.finite.as_dict()},
                "regularizers": {"N": self.N, "practical": self.practical_regularizer,
                                 "theoretical": self.regularizer.total,
                                 "theoretical_parts": self.regularizer.parts,
                                 "theoretical_name": DEFAULT_THEORETICAL.name}}
        if self.out is not None or self.asked_out:
            data["out"] = self.out
        if self.task is not None:
            data["task"] = self.task.as_dict()
        return data


def compile(target: ProgramLike, N: int = 512, comparison: str = "layernorm", slope: float = 1024.0,
            logit_scale: str = "log_i", hardness: Optional[int] = None, check_length: int = 8,
            out: Optional[Union[str, "os.PathLike[str]"]] = None, dense: bool = False,
            check_memory: Optional[int] = None, long_seconds: float = 2.0, case: Optional[TaskLike] = None,
            prove: bool = False) -> CompileResult:
    """Compile a C-RASP[periodic,local] program to a Limit Transformer (Theorem 9), certify (a) it at every
    length, (b) its float64 forward pass up to a horizon, (c) its finite realization T_N up to N; with
    `out`, write T_N's weights (.npz, .safetensors, or a Hugging Face folder: a path without a suffix) when not
    refuted (`verify compile`). `check_memory`:
    bytes the float64 check at long lengths may use (it runs the longest power of two that fits; default, as
    the command: a quarter of the memory budget, at most 1 GiB); `long_seconds`: the time budget of the
    streamed runs near the float64 horizon (`--long-seconds`). With a case (the target's own, or `case`), `task`
    says whether the program computes the case's task (verify.task: proved, checked or refuted; `prove` runs
    the Z3 proof now, otherwise a cached one is used).

    >>> r = compile("tomita1", N=16, check_length=3, check_memory=1 << 24)
    >>> r.status, r.certificate.limit.status, r.as_dict()["finite"]["N"], r.task.status in ("proved", "checked")
    ('holds', 'holds', 16, True)
    """
    return compile_pipeline(target, N=N, comparison=comparison, slope=slope, logit_scale=logit_scale,
                            hardness=hardness, check_length=check_length, out=out, dense=dense,
                            check_memory=check_memory, long_seconds=long_seconds, case=case, prove=prove)


MAX_CHECK_LENGTH = 16   # compile's exhaustive check runs every word of each length


def compile_pipeline(target: ProgramLike, *, N: int, comparison: str, slope: float, logit_scale: str,
                     hardness: Optional[int], check_length: int, out, dense: bool, check_memory: Optional[int],
                     long_seconds: float, flag: Callable[[str], str] = lambda name: name,
                     name: Optional[str] = None, on_stage: Optional[Callable[[str], None]] = None,
                     case: Optional[TaskLike] = None, prove: bool = False) -> CompileResult:
    """The one compile pipeline, for `compile` and `verify compile`: every option checked (errors name
    `flag(parameter)`: the API's names, or the command's flags) and sizes estimated before anything is
    allocated; then realize, certify, write, and — with a case (the target's, or `case`) — the program against
    the case's task (verify.task). `on_stage(description)` is called as each stage starts."""
    from verify.limit.agreement import forward_bytes
    from verify.limit.certify import certify
    from verify.limit.compiler import compile_program
    from verify.limit.io import check_out_target, save_finite
    from verify.limit.realize import realize, realize_bytes
    from verify.limit.regularizers import DEFAULT_THEORETICAL, practical
    from verify.limits import memory_budget, refuse_if_too_big, require_finite, require_range
    stage = on_stage or (lambda description: None)
    require_range(flag("N"), N, 1)
    if logit_scale not in ("none", "inv_sqrt_dhead", "log_i"):
        raise UserError(f"{flag('logit_scale')} must be none, inv_sqrt_dhead or log_i, not {logit_scale!r}")
    if comparison not in ("layernorm", "relu"):
        raise UserError(f"{flag('comparison')} must be layernorm or relu, not {comparison!r}")
    require_finite(flag("slope"), slope, 2, 2 ** 40)
    require_range(flag("check_length"), check_length, 0, MAX_CHECK_LENGTH, "every word of each length is run")
    require_finite(flag("long_seconds"), long_seconds, 0, 3600)
    if hardness is not None:
        require_range(flag("hardness"), hardness, 2, 1024)
    if check_memory is not None:
        require_range(flag("check_memory"), check_memory, 1 << 16)
    if dense and out is None:
        raise UserError(f"{flag('dense')} only changes what {flag('out')} writes; give {flag('out')} too")
    if out is not None:
        check_out_target(out, flag("out"))
    c, program = _target(target)
    name = name or _name(c, program)
    if case is not None:
        c = _as_case(case)
    if c is not None:
        _check_alphabet(c, program, flag("case"))
    elif prove:
        raise UserError(f"{flag('prove')} proves the program against a task: compile a case, or give {flag('case')}")
    options: Dict[str, Any] = dict(comparison=comparison, slope=slope, logit_scale=logit_scale)
    if hardness is not None:
        options.update(hardness=hardness, bos_bias=1 if logit_scale == "log_i" else hardness // 2)
    model = compile_program(program, **options)
    # sizes before allocating: T_N (banded, or dense for --dense) and one forward pass at N
    refuse_if_too_big(flag("N"), realize_bytes(model, N, dense=dense) + forward_bytes(model, 1, N),
                      suggestion=f"use a smaller {flag('N')}" + (f" or drop {flag('dense')}" if dense else ""),
                      what=f"T_{N} of {name} and one forward pass of length {N}")
    stage("realizing T_N")
    finite = realize(model, N)
    stage("certifying (a) Limit Transformer, (b) float64, (c) T_N")
    cert = certify(model, N, name, finite=finite, check_length=check_length,
                   memory=check_memory if check_memory is not None else min(memory_budget() // 4, 1 << 30),
                   long_seconds=long_seconds)
    stage("regularizers")
    theoretical, prac = DEFAULT_THEORETICAL(finite), practical(finite)
    written = None
    if out is not None and cert.status != "refuted":
        stage("writing T_N")
        written = save_finite(finite, str(out), dense=dense)
    task = None
    if c is not None:
        from verify.task import task_verdict
        stage(f"the program against the task {c.name}")
        task = task_verdict(c, program, prove=prove)
    return CompileResult(name, model, finite, cert, theoretical, prac, N, comparison, written,
                         asked_out=out is not None, task=task)


def _check_alphabet(c: Case, program: A.Program, flag: str) -> None:
    """The program must read every symbol of the task's inputs (as `check` requires)."""
    if not set(program.alphabet) >= set(c.alphabet):
        raise UserError(f"{program.source}: the program's alphabet {list(program.alphabet)} does not cover the "
                        f"alphabet of {flag} {c.name} {list(c.alphabet)}")


# ----------------------------------------------------------------- comm-complexity, classify, audit
def comm_complexity(task: TaskLike, N: int = 64, method: str = "auto", K: Optional[int] = None,
                    tau: Optional[int] = None, layers: int = 2, heads: int = 2, width: int = 16,
                    precision: int = 16, types: Optional[int] = None, samples: int = 32, seed: int = 0,
                    timeout: float = 20.0, alphabet: Optional[Sequence[str]] = None,
                    format: Optional[str] = None):
    """Certified communication lower bounds against the C·log N upper bounds of Theorem 12
    (`verify comm-complexity`): a case name, a Case, an alias (copy) or a user's `module:function` (imported
    and called: it runs your code). A reference function needs `alphabet`, the symbols of its input (never
    guessed), and is refused when it answers the same on every input it is given.
    Returns verify.comm.analysis.CommReport (`.verdict`, `.conclusion`, `as_dict()`).

    >>> comm_complexity("parity", N=4, method="rows").rows[-1].bits
    1
    """
    from verify.comm.analysis import analyze
    from verify.comm.certificates import ProgramSize, TransformerSize
    from verify.comm.reference import from_case, resolve
    from verify.limits import require_finite_timeout, require_range, require_seed
    require_range("N", N, 1)
    require_seed("seed", seed)
    require_finite_timeout("timeout", timeout)
    comm_task = (from_case(task) if isinstance(task, Case) else
                 resolve(task, tuple(alphabet) if alphabet is not None else None, format))
    psize = ProgramSize(K if K is not None else 8, tau if tau is not None else 2) \
        if K is not None or tau is not None else None
    tsize = TransformerSize(layers=layers, heads=heads, width=width, precision=precision,
                            radius=tau if tau is not None else 2, types=types)
    return analyze(comm_task, N, method, psize, tsize, samples=samples, seed=seed, witness_timeout_s=timeout)


def classify(target: Any, alphabet: Optional[Sequence[str]] = None, acceptance: str = "last",
             budget: float = 10.0):
    """Certified NoPE (C-RASP) / APE (C-RASP[periodic,local]) verdicts for a regular language
    (`verify classify`): a regular expression, a case name or Case with an automaton, an Automaton, or a
    .dfa JSON file (a .txt file of regular expressions, one per line: a list). `budget`: seconds for
    the whole classification of one language, as `verify classify --budget` (the monoid stages are bounded by
    work and say "undecided: monoid too large" past it; 0: no program search, the other stages still bounded). Returns verify.regular.classify.Classification
    (`.crasp.value`, `.ape.value`, `as_dict()`).

    >>> c = classify("(aa)*", budget=10)     # even length: not C-RASP; a periodic program is synthesized
    >>> c.crasp.value, c.ape.value
    (False, True)
    """
    try:
        from verify.regular import classify as regular
    except ImportError as err:   # pragma: no cover - the package ships it; a partial install may not
        raise UserError(f"the regular-language decider (verify.regular.classify) is not available: {err}") from None
    from verify.spec import Automaton
    if acceptance not in regular.ACCEPTANCE:
        raise UserError(f"acceptance must be last or end, not {acceptance!r}")
    if not 0 <= budget <= 3600:
        raise UserError(f"budget must be between 0 and 3600 seconds, not {budget}")
    if isinstance(target, Automaton):
        return regular.classify_automaton(target, acceptance, "an automaton", budget)
    if isinstance(target, (str, os.PathLike)):   # as the command reads it: a file, a case name, else a regex
        from verify.commands.classify import classify_target
        text = str(target)
        found = classify_target(text, tuple(alphabet) if alphabet is not None else None, acceptance, budget)
        return found if text.endswith(".txt") else found[0]
    if isinstance(target, Case):
        if not isinstance(target.spec, Automaton):
            raise UserError(f"case {target.name!r} is not given by a finite automaton, so the decider does not "
                            "apply; comm_complexity bounds it instead")
        return regular.classify_automaton(target.spec, acceptance, f"case {target.name}", budget)
    raise UserError(f"classify takes a regular expression, a case, an Automaton or a .dfa file; got "
                    f"{type(target).__name__}")


def audit(checkpoint: Union[str, "os.PathLike[str]"], heads: Optional[int] = None, residual: float = 0.05,
          window: int = 256, max_positions: Optional[int] = None, share_threshold: float = 0.1,
          exact: bool = False, task: Optional[str] = None, vocab: Optional[str] = None, measure: bool = False,
          bins: Optional[Sequence[Tuple[int, int]]] = None, samples: int = 2000, train_max: int = 50, seed: int = 0):
    """PERIODIC / LOCAL scores of a checkpoint's positional parts (`verify audit`, needs the torch extra): a
    Hugging Face folder, a weights file, or `verify compile --out`'s T_N. Returns
    torch_bridge.audit.AuditReport (`.verdict`, `.summary`, `.heads`, `.exit_code`, `as_dict()`: the command's JSON
    without its "plots" list). With `task` (a catalogue case), also `.task`, `.prediction` (from the weights and
    inputs of length ≤ train_max), `.measured` (with `measure`: accuracy per bin), `.theory` and `.side_by_side`
    — the JSON's keys."""
    from torch_bridge.checkpoint import needs_torch
    from verify.commands.train import need_torch
    if needs_torch(checkpoint) or task is not None:   # pickles, or running the model; else numpy alone
        need_torch()              # UserError with the install hint when torch is missing
    from torch_bridge.audit import audit_checkpoint
    report = audit_checkpoint(Path(checkpoint), heads=heads, residual=residual, window=window,
                              max_positions=max_positions, share_threshold=share_threshold, exact=exact,
                              task=task, vocab=vocab, measure=measure, bins=None if bins is None else tuple(bins),
                              samples=samples, train_max=train_max, seed=seed)[0]
    return report
