"""Fuzz suite for the `.crasp` parser (issue 9: bad input gets a clear error, never a crash,
hang or memory blow-up).

Property, for byte-level, arbitrary-text and grammar-aware inputs (with token and character
mutations): parsing ends in a Program or a UserError whose syntax error carries file:line:column;
a Program that parses runs on random short inputs without any exception but UserError; every
example finishes within a time limit. The known blow-ups have one regression test each, with
their located message and a memory or time bound. The generator and the runner are shared
with bench/bench_fuzz.py, which runs 10^5 inputs.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.crasp import ast as A
from verify.crasp.checks import (MAX_ALPHABET, MAX_DISTANCE, MAX_GUARD_SIZE, MAX_MODULUS, MAX_SYMBOL_CHARS,
                                 check_program)
from verify.crasp.interpreter import evaluate
from verify.crasp.linear import flatten
from verify.crasp.parser import (MAX_DEPTH, MAX_FILE_BYTES, MAX_INT_DIGITS, MAX_NESTING, MAX_NODES,
                                 MAX_SOURCE_CHARS, MAX_TOKENS, load_program, parse_program)
from verify.crasp.printer import to_text
from verify.problems import UserError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import bench_fuzz as F  # noqa: E402  (the generator and runner shared with the benchmark)

FILE = "fuzz.crasp"
TIME_LIMIT_S = 10  # per example; the slowest legitimate example takes well under a second

# Reproducible in CI (derandomize); the deadline is generous because the machine is shared,
# and TIME_LIMIT_S below stops an example that would never return.
FUZZ = dict(derandomize=True, database=None, deadline=timedelta(seconds=5),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                   HealthCheck.function_scoped_fixture])


class TimeLimit(Exception):
    pass


@contextmanager
def time_limit(seconds: float = TIME_LIMIT_S):
    def stop(signum, frame):
        raise TimeLimit(f"over {seconds} s: a hang")
    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def assert_clean(err: UserError, file: str = FILE) -> str:
    """A user error with at least one problem; a syntax error is located (file:line:column)."""
    text = err.render()
    short = text[:600]  # failure messages without the (possibly huge) echoed source
    assert err.problems, short
    for p in err.problems:
        if p.where is not None:
            assert p.where.file == file and p.where.line >= 1 and p.where.column >= 1, short
    assert F.syntax_error_located(err, file), short
    return text


def parse_and_run(text: str, seed: int = 0) -> str:
    """The property: 'ran' or 'user error', within the time limit; anything else propagates."""
    with time_limit():
        try:
            program = parse_program(text, FILE)
        except UserError as err:
            assert_clean(err)
            return "user error"
        try:
            F.exercise(program, seed)
        except UserError as err:
            assert err.render()
            return "user error"
    return "ran"


def hypothesis_draw(draw):
    return lambda lo, hi: draw(st.integers(lo, hi))


@st.composite
def grammar_programs(draw):
    """Every choice drawn through hypothesis: slower, but failures shrink to small programs."""
    d = hypothesis_draw(draw)
    return F.join_tokens(F.Gen(d).program(), d)


def seeded(kind: str):
    """Programs from random.Random(seed) (the benchmark's generator): fast; failures print the seed."""
    def make(seed: int) -> str:
        d = random.Random(seed).randint
        toks = F.Gen(d).program()
        if kind == "grammar":
            return F.join_tokens(toks, d)
        if kind == "tokens":
            return F.join_tokens(F.mutate_tokens(toks, d), d)
        return F.mutate_chars(F.join_tokens(toks, d), d)
    return st.integers(0, 2 ** 32).map(make)


# ---------------------------------------------------------------- fuzzing (4,050 examples, about 30 s)
@pytest.mark.slow
@settings(max_examples=800, **FUZZ)
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_fails_with_a_location(text):
    parse_and_run(text)


@pytest.mark.slow
@settings(max_examples=800, **FUZZ)
@given(st.text(alphabet=F.GRAMMAR_CHARS, max_size=200))
def test_text_over_the_grammar_characters(text):
    parse_and_run(text)


@pytest.mark.slow
@settings(max_examples=300, **FUZZ)
@given(st.binary(max_size=200))
def test_bytes_through_load_program(tmp_path, data):
    path = tmp_path / FILE
    path.write_bytes(data)
    with time_limit():
        try:
            F.exercise(load_program(str(path)))
        except UserError as err:
            assert err.render().startswith(str(path)), err.render()[:600]


@pytest.mark.slow
@settings(max_examples=150, **FUZZ)
@given(grammar_programs(), st.integers(0, 2 ** 16))
def test_grammar_aware_programs_parse_and_run(text, seed):
    parse_and_run(text, seed)


@pytest.mark.slow
@settings(max_examples=800, **FUZZ)
@given(seeded("grammar"), st.integers(0, 2 ** 16))
def test_many_grammar_aware_programs_parse_and_run(text, seed):
    parse_and_run(text, seed)


@pytest.mark.slow
@settings(max_examples=600, **FUZZ)
@given(seeded("tokens"), st.integers(0, 2 ** 16))
def test_programs_with_token_mutations(text, seed):
    parse_and_run(text, seed)


@pytest.mark.slow
@settings(max_examples=600, **FUZZ)
@given(seeded("chars"), st.integers(0, 2 ** 16))
def test_programs_with_character_mutations(text, seed):
    parse_and_run(text, seed)


def test_the_generator_reaches_programs_that_run():
    """Guards the fuzzers above against a generator that only ever produces errors."""
    outcomes = [parse_and_run(F.join_tokens(F.Gen(r.randint).program(), r.randint), i)
                for i, r in ((i, random.Random(i)) for i in range(200))]
    assert outcomes.count("ran") > 60 and outcomes.count("user error") > 10


# ---------------------------------------------------------------- the known cases
def located(text: str, line: int, column: int, what: str) -> str:
    with time_limit():
        with pytest.raises(UserError) as err:
            parse_program(text, FILE)
    rendered = assert_clean(err.value)
    head = rendered.splitlines()[1][:200]  # not the echoed source line: it may be 10^5 characters
    assert head.startswith(f"{FILE}:{line}:{column}: ") and what in head, head
    assert "^" in rendered
    return rendered


def error_of(text: str) -> str:
    """The rendered UserError of a text that must not parse."""
    with time_limit(), pytest.raises(UserError) as err:
        parse_program(text, FILE)
    return assert_clean(err.value)


@contextmanager
def memory_below(mib: float):
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < mib * 2 ** 20, f"peak {peak / 2 ** 20:.1f} MiB"


HEAD = 'alphabet "a"\naccept = '  # expressions below start at line 2, column 10


@pytest.mark.parametrize("parens", [98, 10_000])
def test_deep_parentheses(parens):
    located(HEAD + "(" * parens + '"a"' + ")" * parens, 2, 10 + MAX_NESTING,
            f"brackets nested more than {MAX_NESTING} deep")


def test_ten_thousand_term_operator_chain():
    text = HEAD + " + ".join(['#["a"]'] * 10_000) + " > 0"
    # #["a"] is 2 deep, each `+` one more: the 199th `+` makes 201 levels
    located(text, 2, 10 + 198 * len('#["a"] + ') + len('#["a"] '), f"nested more than {MAX_DEPTH} operations deep")


@pytest.mark.parametrize("word", ["and", "or", "implies"])
def test_long_boolean_chains(word):
    assert "operations" in error_of(HEAD + f" {word} ".join(['"a"'] * 10_000))


def test_ten_thousand_nots():
    located(HEAD + "not " * 10_000 + '"a"', 2, 10 + 4 * (10_000 - MAX_DEPTH), f"more than {MAX_DEPTH} operations")


def test_five_thousand_digit_literal():
    with memory_below(5):
        located(HEAD + '#["a"] > ' + "7" * 5000, 2, 19, "an integer literal of 5,000 digits")


def test_guard_range_with_a_huge_bound_is_refused_before_it_is_built():
    start = time.perf_counter()
    with memory_below(5):  # the unchecked parser built a 10^8-element list here (6 GiB)
        located(HEAD + '#["a" @ 0..100000000] > 0', 2, 21, "guard distance 100000000 is above the limit 4096")
    assert time.perf_counter() - start < 2


def test_empty_symbol_is_refused_where_it_is_written():
    located('alphabet "a" ""\naccept = true', 1, 14, 'the alphabet has an empty symbol ""')


def test_duplicate_symbols():
    located('alphabet "a" "b" "a"\naccept = true', 1, 18, 'the alphabet lists the symbol "a" twice')


def test_end_marker_is_not_a_symbol():
    located('alphabet "a" "<end>"\naccept = true', 1, 14, '"<end>" is reserved')


def run_cli(tmp_path, text: str, *args: str, memory_gib: float = 0):
    prog = tmp_path / "p.crasp"
    prog.write_text(text)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

    def limit():
        if memory_gib:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (int(memory_gib * 2 ** 30),) * 2)
    verify = Path(sys.executable).parent / "verify"
    return subprocess.run([str(verify), "run", str(prog), *args], capture_output=True, text=True, timeout=120,
                          env=env, preexec_fn=limit)


@pytest.mark.slow
def test_cli_alphabet_empty_symbol_exits_2_instead_of_hanging(tmp_path):
    r = run_cli(tmp_path, 'alphabet ""\naccept = true\n', "a")
    assert r.returncode == 2, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "p.crasp:1:10: the alphabet has an empty symbol" in out and "Traceback" not in out


@pytest.mark.slow
def test_cli_huge_guard_range_exits_2_under_a_memory_limit(tmp_path):
    r = run_cli(tmp_path, 'alphabet "a"\naccept = #["a" @ 0..100000000] > 0\n', "a a", memory_gib=3)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "p.crasp:2:21: guard distance 100000000" in out and "Traceback" not in out


# ---------------------------------------------------------------- each limit: at it, and one past it
def nested_counts(levels: int) -> str:
    return HEAD + "#[" * (levels - 1) + '#["a"]' + " > 0]" * (levels - 1) + " > 0"


def chain(terms: int) -> str:
    return HEAD + " + ".join(['#["a"]'] * terms) + " > 0"


def test_nesting_limit():
    assert parse_program(nested_counts(MAX_NESTING))
    located(nested_counts(MAX_NESTING + 1), 2, 10 + 2 * MAX_NESTING, "brackets nested")


def test_depth_limit():
    assert parse_program(chain(MAX_DEPTH - 2))  # Compare over MAX_DEPTH - 3 adds over counts of symbols
    assert "operations deep" in error_of(chain(MAX_DEPTH - 1))


def recurse(frames: int, fn):
    return fn() if frames == 0 else recurse(frames - 1, fn)


@pytest.mark.parametrize("text", [nested_counts(MAX_NESTING), chain(MAX_DEPTH - 2),
                                  HEAD + "not " * (MAX_DEPTH - 1) + '"a"'])
def test_programs_at_the_limits_go_through_every_tree_walk_on_a_deep_stack(text):
    """Called 250 frames deep, parsing, checking, flattening, printing, comparing and running a
    program at the nesting or depth limit stay below Python's default recursion limit."""
    import numpy as np

    def everything():
        p = parse_program(text)
        assert not check_program(p) and flatten(p).ops
        assert parse_program(to_text(p)) == p and hash(p) == hash(parse_program(text))
        evaluate(p, np.zeros((2, 3), dtype=np.int64))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        recurse(250, everything)
    finally:
        sys.setrecursionlimit(old)


def test_integer_literal_limit_and_exact_value():
    import numpy as np
    big = 10 ** MAX_INT_DIGITS - 1
    p = parse_program(HEAD + f'#["a"] < {big} and {big} * #["a"] >= 0 and -{big} < 0')
    assert evaluate(p, np.zeros((1, 2), dtype=np.int64)).output("accept").all()
    located(HEAD + "1" + "0" * MAX_INT_DIGITS + ' > #["a"]', 2, 10, f"integer literal of {MAX_INT_DIGITS + 1} digits")


def test_guard_limits():
    assert parse_program(HEAD + f'#["a" @ {MAX_DISTANCE}] > 0')
    assert parse_program(HEAD + f'#["a" @ 0..{MAX_GUARD_SIZE - 1}] > 0')
    assert parse_program(HEAD + '#["a" @ 0..200, 100..255, 7] > 0')  # overlapping ranges: 256 distances
    located(HEAD + f'#["a" @ {MAX_DISTANCE + 1}] > 0', 2, 18, f"guard distance {MAX_DISTANCE + 1}")
    over = f'#["a" @ 0..200, 201..{MAX_GUARD_SIZE}] > 0'
    located(HEAD + over, 2, 10 + over.index("201"), f"more than {MAX_GUARD_SIZE} distances")
    located(HEAD + '#["a" @ 5..2] > 0', 2, 18, "empty distance range 5..2")


def test_alphabet_limits():
    symbols = " ".join(f'"s{i}"' for i in range(MAX_ALPHABET))
    assert len(parse_program(f"alphabet {symbols}\naccept = true").alphabet) == MAX_ALPHABET
    assert f"{MAX_ALPHABET + 1:,} symbols" in error_of(f'alphabet {symbols} "x"\naccept = true')
    assert parse_program(f'alphabet "{"s" * MAX_SYMBOL_CHARS}"\naccept = true')
    located(f'alphabet "a" "{"s" * (MAX_SYMBOL_CHARS + 1)}"\naccept = true', 1, 14, "a quoted symbol of 65 characters")


def test_periodic_limits():
    assert parse_program(HEAD + f"pos % {MAX_MODULUS} in {{0}}")
    located(HEAD + f"pos % {MAX_MODULUS + 1} in {{0}}", 2, 10, f"modulus {MAX_MODULUS + 1}")
    three = "pos % 1000 in {1} and pos % 999 in {1} and pos % 997 in {1}"  # lcm 996,003,000
    located(HEAD + three, 2, 10 + three.index("pos % 997"), "least common multiple 996,003,000")


@pytest.mark.slow
def test_program_size_limits():
    lets = "".join(f'let x{i} = #["a"]\n' for i in range(MAX_NODES // 2 + 1))  # 2 nodes per let
    assert f"more than {MAX_NODES:,} operations" in error_of('alphabet "a"\n' + lets + "accept = true")
    start = time.perf_counter()
    located(HEAD + "true" + " " * MAX_SOURCE_CHARS, 2, MAX_SOURCE_CHARS - len('alphabet "a"\n') + 1,
            f"longer than {MAX_SOURCE_CHARS:,} characters")
    assert f"more than {MAX_TOKENS:,} tokens" in error_of('alphabet "a"\n' + "let x = 1 " * (MAX_TOKENS // 4 + 1))
    assert "a name of 200 characters" in error_of(HEAD + "x" * 200)
    assert time.perf_counter() - start < 20


def largest_program() -> str:
    """Every limit reached at once: 4,096 symbols, wide and far guards, 36-digit constants,
    the largest modulus, nesting 64, and a few thousand operations."""
    symbols = " ".join(f'"s{i}"' for i in range(MAX_ALPHABET))
    big = "9" * MAX_INT_DIGITS
    lets = [f'let g{i} = #["s{i}" @ 0..{MAX_GUARD_SIZE - 2}, {MAX_DISTANCE}] + {big} * #["s{i + 1}"]'
            for i in range(60)]
    lets += [f'let h{i} = #["s{i}"] > {i}' for i in range(600)]  # 4 operations each
    body = " + ".join(f"g{i}" for i in range(60))
    nested = "#[" * (MAX_NESTING - 1) + '#["s0"]' + " > 0]" * (MAX_NESTING - 1)
    return (f"alphabet {symbols}\n" + "\n".join(lets) +
            f"\naccept = {body} > -{big} and pos % {MAX_MODULUS} in {{0, 7}} and {nested} >= 0\n")


@pytest.mark.slow
def test_a_program_at_every_limit_parses_and_runs_in_bounded_time_and_memory():
    import numpy as np
    text = largest_program()
    start = time.perf_counter()
    with memory_below(400), time_limit(60):  # Python and numpy allocations both count
        p = parse_program(text, FILE)
        ids = np.random.default_rng(0).integers(0, MAX_ALPHABET, size=(2, 50))
        assert evaluate(p, ids).output("accept").shape == (2, 50)
    assert time.perf_counter() - start < 60


# ---------------------------------------------------------------- files
def test_program_files_that_cannot_be_programs(tmp_path):
    cases = {"missing.crasp": "no such program file", ".": "is a folder"}
    for name, what in cases.items():
        with pytest.raises(UserError, match=what):
            load_program(str(tmp_path / name))
    fifo = tmp_path / "pipe.crasp"
    os.mkfifo(fifo)
    with time_limit(5), pytest.raises(UserError, match="not a regular file"):
        load_program(str(fifo))  # would block if opened


def test_non_utf8_file_is_reported_at_the_bad_byte(tmp_path):
    path = tmp_path / "bin.crasp"
    path.write_bytes(b'alphabet "a"\naccept = \xff\xfe true\n')
    with pytest.raises(UserError) as err:
        load_program(str(path))
    assert f"{path}:2:10: the program file is not UTF-8 text (byte 0xff)" in err.value.render()


def test_byte_order_mark_and_nul_bytes(tmp_path):
    path = tmp_path / "bom.crasp"
    path.write_bytes(b'\xef\xbb\xbfalphabet "a"\naccept = true\n')
    assert load_program(str(path)).alphabet == ("a",)
    path.write_bytes(b'alphabet "a"\naccept = \x00\n')
    with pytest.raises(UserError) as err:
        load_program(str(path))
    assert "bom.crasp:2:10: unexpected character '\\x00'" in err.value.render()


def test_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.crasp"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing to read, only the size
    with memory_below(1), pytest.raises(UserError, match=f"{MAX_FILE_BYTES + 1:,} bytes"):
        load_program(str(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.crasp"
    path.write_text('alphabet "a"\naccept = true\n')
    path.chmod(0)
    with pytest.raises(UserError, match="cannot read the program"):
        load_program(str(path))


# ---------------------------------------------------------------- the same limits on builder programs
def test_checks_bind_builder_programs_too():
    acc = lambda e: A.Program(("a",), (), (A.Output("accept", "", e),))  # noqa: E731
    wide = A.Compare(">", A.GuardedCount(A.Symbol("a"), frozenset(range(MAX_GUARD_SIZE + 1))), A.IntConst(0))
    far = A.Compare(">", A.GuardedCount(A.Symbol("a"), frozenset({MAX_DISTANCE + 1})), A.IntConst(0))
    big = A.Compare(">", A.Count(A.Symbol("a")), A.IntConst(10 ** 36))
    scaled = A.Compare(">", A.Scale(-10 ** 36, A.Count(A.Symbol("a"))), A.IntConst(0))
    for e, what in [(wide, "distances, above the limit"), (far, "above the limit 4096"),
                    (big, "out of range"), (scaled, "out of range"),
                    (A.Compare(">", A.Count(A.Symbol("a")), A.IntConst(-10 ** 5000)), "5000 digits) is out of range"),
                    (A.Periodic(MAX_MODULUS + 1, frozenset({0})), "above the limit")]:
        assert any(what in p.what for p in check_program(acc(e))), what
    empty = A.Program(("a", ""), (), (A.Output("accept", "", A.BoolConst(True)),))
    assert any("empty symbol" in p.what for p in check_program(empty))
    none = A.Program((), (), (A.Output("accept", "", A.BoolConst(True)),))
    assert any("alphabet is empty" in p.what for p in check_program(none))


def test_many_problems_are_capped_and_counted():
    text = 'alphabet "a"\n' + "".join(f"let x{i} = y{i}\n" for i in range(300)) + "accept = true"
    with time_limit(), pytest.raises(UserError) as err:
        parse_program(text, FILE)
    assert len(err.value.problems) == 101 and "200 more problem(s)" in err.value.problems[-1].what
