"""Fuzz the `.crasp` parser and run every program that parses (issue 9: bad input gets a clear error).

    .venv/bin/python bench/bench_fuzz.py                # 10^5 inputs (about 13 minutes on one busy core)
    .venv/bin/python bench/bench_fuzz.py --quick        # 2,000 inputs, a smoke test
    .venv/bin/python bench/bench_fuzz.py --n 20000 --seed 3
    .venv/bin/python bench/bench_fuzz.py --replay 1234  # show input 1234 and run it here, traceback included

Inputs, each reproducible from (seed, index): grammar-aware programs (random expressions over the
grammar with deep nesting, long chains, huge literals and wide guards now and then), the same with
token mutations (deleted, duplicated, swapped, inserted tokens), with character mutations, random
strings over the grammar's characters, and random bytes read through `load_program`. Every program
that parses is run by the interpreter on a few random short inputs (and its input tokenizer on a
random string). Inputs run in worker processes under an address-space limit, with a per-input
alarm and a watchdog that kills a stuck worker.

An input ends as: success; a user error (UserError: the parser's or checks' message, which must
carry file:line:column for syntax errors, or a run-time one); a crash (any other exception, or a
syntax error without a location); a hang (over --timeout seconds); a memory blow-up (MemoryError
under the --memory limit, or the worker killed). The counts are printed, with the first few
distinct crash types and a reproducer for each.

The generator (`Gen`, `mutate_tokens`, `mutate_chars`, `make_input`) and the runner (`exercise`)
are shared with tests/test_fuzz_parser.py, which drives them from hypothesis.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from typing import Callable, List, Optional, Tuple

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))

Draw = Callable[[int, int], int]  # draw(lo, hi): an integer in lo..hi (inclusive); 0-ish is "simplest"

SYMBOLS = ["a", "b", "c", "(", ")", "0", "1", "<sep>", "<eos>", "ab"]
ODD_SYMBOLS = ["", "<end>", "a", "x" * 70, '\\"', "\\\\", "é", " ", "a b"]  # "a" repeats a symbol
OPS = ["#[", "]", "(", ")", "@", "..", ",", "{", "}", "+", "-", "*", "%", "<", "<=", "==", "!=", ">=", ">", "="]
WORDS = ["alphabet", "let", "accept", "next", "label", "and", "or", "not", "implies", "true", "false",
         "if", "then", "else", "min", "max", "pos", "in"]
GRAMMAR_CHARS = '"#[]()@.,{}%<>=!+-*/ \n\t0123456789abcxyz_' + "é\x00\r\\"


def _quote(s: str) -> str:
    return '"' + s + '"'


class Gen:
    """Token lists of plausible programs, drawn through `draw` (hypothesis or random.Random)."""

    def __init__(self, draw: Draw):
        self.draw = draw
        self.bools: List[str] = []
        self.counts: List[str] = []
        self.alphabet: List[str] = ["a"]

    def chance(self, percent: int) -> bool:
        return self.draw(0, 99) >= 100 - percent

    def pick(self, seq):
        return seq[self.draw(0, len(seq) - 1)]

    def integer(self) -> str:
        r = self.draw(0, 99)
        if r < 94:
            return str(self.draw(0, 5))
        if r < 97:
            return str(self.draw(0, 10 ** 6))
        if r < 99:  # around the 36-digit limit
            return str(10 ** self.draw(30, 40) - self.draw(0, 1))
        return "9" * self.draw(37, 6000)

    def guard(self) -> List[str]:
        r = self.draw(0, 9)
        if r < 5:
            out = [str(self.draw(0, 4))]
            for _ in range(self.draw(0, 2)):
                out += [",", str(self.draw(0, 6))]
        elif r < 7:
            lo = self.draw(0, 3)
            out = [str(lo), "..", str(lo + self.draw(0, 5))]
        elif r < 8:  # huge bounds, the 6 GiB case
            out = [str(self.draw(0, 10)), "..", self.pick(["100000000", "4096", "4097", "255", "256", "10" * 20])]
        elif r < 9:  # many distances
            out = []
            for k in range(self.draw(1, 300)):
                out += ([","] if k else []) + [str(k * self.draw(1, 3))]
        else:
            out = [self.integer()]
        return ["{", *out, "}"] if self.chance(30) else out

    def periodic(self) -> List[str]:
        if self.chance(85):
            m = self.draw(1, 6)
            residues = [str(self.draw(0, m - 1)) for _ in range(self.draw(1, 3))]
            m = str(m)
        else:
            m = self.pick(["0", "1000000", "1000001", "999983", "999979", self.integer()])
            residues = [str(self.draw(0, 7)) for _ in range(self.draw(0, 3))]
        return ["pos", "%", m, "in", "{", *",".join(residues).replace(",", " , ").split(), "}"]

    def nest(self, inner: List[str]) -> List[str]:
        k = self.draw(1, 120) if self.chance(5) else 1
        return ["("] * k + inner + [")"] * k

    def symbol(self) -> str:
        return _quote(self.pick(self.alphabet if self.chance(90) else SYMBOLS))

    def compare_op(self) -> str:
        return self.pick(["<", "<=", "==", "!=", ">=", ">"])

    def bool_leaf(self) -> List[str]:
        r = self.draw(0, 4)
        if r == 0:
            return [self.symbol()]
        if r == 1:
            return [self.pick(["true", "false"])]
        if r == 2:
            return self.periodic()
        if r == 3 and self.bools:
            return [self.pick(self.bools)]
        return self.count_leaf() + [self.compare_op()] + self.count_leaf()

    def count_leaf(self) -> List[str]:
        r = self.draw(0, 4)
        if r <= 1:
            return ["-"] * self.draw(0, 1) + [self.integer()]
        if r == 2:
            return ["#[", self.symbol(), "]"]
        if r == 3:
            return ["#[", self.symbol(), "@", *self.guard(), "]"]
        return [self.pick(self.counts)] if self.counts else ["#[", self.symbol(), "]"]

    def boolean(self, depth: int) -> List[str]:
        if depth <= 0:
            return self.bool_leaf()
        r = self.draw(0, 9)
        if r <= 1:
            return self.bool_leaf()
        if r <= 3:
            n = self.draw(1, 250) if self.chance(5) else 1
            return ["not"] * n + self.boolean(depth - 1)
        if r <= 5:
            word = self.pick(["and", "or", "implies"])
            n = self.draw(2, 260) if self.chance(5) else 2
            out = self.boolean(depth - 1)
            for _ in range(n - 1):
                out += [word] + self.boolean(depth - 1 if n == 2 else 0)
            return out
        if r <= 8:
            return self.count(depth - 1) + [self.compare_op()] + self.count(depth - 1)
        return self.nest(self.boolean(depth - 1))

    def count(self, depth: int) -> List[str]:
        if depth <= 0:
            return self.count_leaf()
        r = self.draw(0, 11)
        if r <= 1:
            return self.count_leaf()
        if r == 2:
            return ["#[", *self.boolean(depth - 1), "]"]
        if r == 3:
            return ["#[", *self.boolean(depth - 1), "@", *self.guard(), "]"]
        if r == 4:  # nested counts, sometimes past the nesting limit
            n = self.draw(60, 120) if self.chance(10) else self.draw(1, 3)
            return ["#["] * n + [self.symbol()] + ["]", ">", "0"] * (n - 1) + ["]"]
        if r <= 6:
            n = self.draw(2, 300) if self.chance(5) else 2
            out = self.count(depth - 1)
            for _ in range(n - 1):
                out += [self.pick(["+", "-"])] + self.count(depth - 1 if n == 2 else 0)
            return out
        if r == 7:
            k = ["-"] * self.draw(0, 1) + [self.integer()]
            c = self.count(depth - 1)
            return k + ["*"] + c if self.chance(50) else c + ["*"] + k
        if r == 8:
            return ["if", *self.boolean(depth - 1), "then", *self.count(depth - 1), "else", *self.count(depth - 1)]
        if r <= 10:
            return [self.pick(["min", "max"]), "(", *self.count(depth - 1), ",", *self.count(depth - 1), ")"]
        return self.nest(self.count(depth - 1))

    def program(self) -> List[str]:
        k = self.draw(1, 4)
        self.alphabet = [SYMBOLS[(self.draw(0, len(SYMBOLS) - 1) + i) % len(SYMBOLS)] for i in range(k)]
        self.alphabet = list(dict.fromkeys(self.alphabet))
        header = ["alphabet"] + [_quote(a) for a in self.alphabet]
        if self.chance(5):
            header.append(_quote(self.pick(ODD_SYMBOLS)))
        if self.chance(2):
            header = ["alphabet"] + [_quote(f"s{i}") for i in range(self.draw(4090, 4100))]
        toks = header
        depth = self.draw(0, 4)
        for i in range(self.draw(0, 3)):
            name = f"x{i}" if self.chance(95) else self.pick(["x0", "zz", "not", "a" * self.draw(100, 200)])
            if self.chance(50):
                toks += ["let", name, "=", *self.boolean(depth)]
                self.bools.append(name)
            else:
                toks += ["let", name, "=", *self.count(depth)]
                self.counts.append(name)
        r = self.draw(0, 9)
        if r < 7:
            toks += ["accept", "=", *self.boolean(depth)]
        elif r < 9:
            for a in self.alphabet:
                toks += ["next", _quote(a), "=", *self.boolean(depth)]
        else:
            toks += ["label", self.pick(["L", '"lab"']), "=", *self.boolean(depth)]
        return toks


def mutate_tokens(toks: List[str], draw: Draw) -> List[str]:
    """Delete, duplicate, swap, insert or enlarge tokens (0 to 3 edits)."""
    toks = list(toks)
    vocab = OPS + WORDS + ['"a"', '"b"', '""', "0", "1", "x0", "10" * 30]
    for _ in range(draw(0, 3)):
        if not toks:
            break
        i = draw(0, len(toks) - 1)
        kind = draw(0, 5)
        if kind == 0:
            del toks[i]
        elif kind == 1:
            toks.insert(i, toks[i])
        elif kind == 2 and i + 1 < len(toks):
            toks[i], toks[i + 1] = toks[i + 1], toks[i]
        elif kind == 3:
            toks.insert(i, vocab[draw(0, len(vocab) - 1)])
        elif kind == 4:
            toks[i] = "9" * draw(30, 5000) if toks[i].isdigit() else toks[i]
        else:
            del toks[i:]
    return toks


def join_tokens(toks: List[str], draw: Draw) -> str:
    out = []
    for t in toks:
        out.append(t)
        r = draw(0, 19)
        out.append("\n" if r == 0 else " // note\n" if r == 1 else " ")
    return "".join(out)


def mutate_chars(text: str, draw: Draw) -> str:
    """Insert, delete or replace 1 to 4 characters."""
    chars = list(text)
    for _ in range(draw(1, 4)):
        i = draw(0, len(chars))
        kind = draw(0, 2)
        c = GRAMMAR_CHARS[draw(0, len(GRAMMAR_CHARS) - 1)]
        if kind == 0 or i == len(chars):
            chars.insert(i, c)
        elif kind == 1:
            del chars[i]
        else:
            chars[i] = c
    return "".join(chars)


KINDS = ("grammar", "token-mutated", "char-mutated", "grammar-chars", "bytes")


def make_input(draw: Draw) -> Tuple[str, object]:
    """(kind, text or bytes) for one fuzz input."""
    r = draw(0, 99)
    if r < 30:
        return "grammar", join_tokens(Gen(draw).program(), draw)
    if r < 55:
        return "token-mutated", join_tokens(mutate_tokens(Gen(draw).program(), draw), draw)
    if r < 75:
        return "char-mutated", mutate_chars(join_tokens(Gen(draw).program(), draw), draw)
    if r < 90:
        return "grammar-chars", "".join(GRAMMAR_CHARS[draw(0, len(GRAMMAR_CHARS) - 1)] for _ in range(draw(0, 80)))
    return "bytes", bytes(draw(0, 255) for _ in range(draw(0, 80)))


def input_for(seed: int, index: int) -> Tuple[str, object]:
    rng = random.Random(f"{seed}:{index}")
    return make_input(rng.randint)


# ---------------------------------------------------------------- running one input
def exercise(program, seed: int = 0) -> None:
    """Run a parsed program: the interpreter on a few random short inputs (every output, `accept`
    and `next` read as the commands read them) and the input tokenizer on a random string."""
    import numpy as np

    from verify.crasp.interpreter import accepts, evaluate, next_tokens, straight_line, tokenize

    rng = random.Random(seed)
    line = straight_line(program)
    keys = [k for k, _ in line.outputs]
    size = len(program.alphabet) + 1  # the end marker too
    for _ in range(3):
        n, batch = rng.randint(0, 6), rng.randint(1, 3)
        ids = np.array([[rng.randrange(size) for _ in range(n)] for _ in range(batch)], dtype=np.int64)
        ids = ids.reshape(batch, n)
        offset = rng.randint(0, 7)
        ev = evaluate(program, ids, offset)
        for k in keys:
            ev.output(k)
        if n and "accept" in keys:
            accepts(program, ids, offset=offset)
            accepts(program, ids, mode="end", offset=offset)
        if n and any(k.startswith("next ") for k in keys):
            next_tokens(program, ids, offset)
    symbols = list(program.alphabet)
    text = " ".join(rng.choice(symbols) for _ in range(rng.randint(0, 6)))
    try:
        tokenize(program.alphabet, text + rng.choice(["", " ?", "".join(symbols[:2])]))
    except _user_errors():
        pass


def _user_errors():
    from verify.crasp.parser import ParseError
    from verify.problems import UserError
    return (UserError, ParseError)


def syntax_error_located(err, file: str) -> bool:
    """A syntax error names file:line:column (and the caret's line) of its one problem."""
    if not str(err).endswith("syntax error"):
        return True
    p = err.problems[0] if err.problems else None
    return p is not None and p.where is not None and f"{file}:{p.where.line}:{p.where.column}:" in err.render()


def classify(kind: str, data, file: str, seed: int) -> Tuple[str, str]:
    """(outcome, detail) for one input: success, user_error, run_user_error, unlocated, or raises."""
    from verify.crasp.parser import load_program, parse_program
    from verify.problems import UserError
    try:
        if kind == "bytes":
            with open(file, "wb") as f:
                f.write(data)
            program = load_program(file)
        else:
            program = parse_program(data, file)
    except UserError as err:
        if not syntax_error_located(err, file):
            return "unlocated", err.render()[:300]
        return "user_error", str(err)
    try:
        exercise(program, seed)
    except UserError as err:
        return "run_user_error", str(err)[:200]
    return "success", ""


# ---------------------------------------------------------------- workers
class _Timeout(BaseException):
    pass


_armed = [False]  # the alarm raises only while an input runs, never in the bookkeeping after it


def _on_alarm(signum, frame):
    if _armed[0]:
        _armed[0] = False
        raise _Timeout()


def _worker(conn, seed: int, start: int, stop: int, timeout: float, memory_gib: float, tmpdir: str) -> None:
    import resource
    import signal
    import traceback
    if memory_gib > 0:
        limit = int(memory_gib * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _on_alarm)
    file = os.path.join(tmpdir, "fuzz.crasp")
    for i in range(start, stop):
        kind, data = input_for(seed, i)  # outside the try: a generator bug must stop the run
        try:
            try:
                _armed[0] = True
                signal.setitimer(signal.ITIMER_REAL, timeout)
                outcome, detail = classify(kind, data, file, seed + i)
            finally:
                _armed[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Timeout:
            outcome, detail = "hang", ""
        except MemoryError:
            outcome, detail = "memory", ""
        except RecursionError as err:
            outcome, detail = "crash", f"RecursionError: {str(err)[:100]}"
        except Exception as err:  # noqa: BLE001 - the point is to catch what should not escape
            outcome = "crash"
            detail = f"{type(err).__name__}: {str(err)[:200]}\n" + "".join(traceback.format_tb(err.__traceback__)[-3:])
        conn.send((i, kind, outcome, detail))
    conn.send(None)
    conn.close()


def run_all(n: int, seed: int, timeout: float, memory_gib: float, batch: int, progress: bool) -> dict:
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    results = {}
    next_i = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_fuzz_") as tmpdir:
        while next_i < n:
            stop = min(n, next_i + batch)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(child, seed, next_i, stop, timeout, memory_gib, tmpdir))
            proc.start()
            child.close()
            current = next_i
            while True:
                if parent.poll(timeout + 30):  # the watchdog: a worker stuck in C code is killed
                    try:
                        msg = parent.recv()
                    except EOFError:  # the worker died: blame the input it ran
                        proc.join()
                        died = "memory" if proc.exitcode == -9 else "crash"  # SIGKILL: the kernel's OOM killer
                        results[current] = (input_for(seed, current)[0], died,
                                            f"worker died (exit code {proc.exitcode})")
                        current += 1
                        break
                    if msg is None:
                        break
                    i, kind, outcome, detail = msg
                    results[i] = (kind, outcome, detail)
                    current = i + 1
                else:
                    proc.kill()
                    results[current] = (input_for(seed, current)[0], "hang", "killed by the watchdog")
                    current += 1
                    break
            proc.join()
            parent.close()
            next_i = current
            if progress:
                print(f"  {next_i:,}/{n:,} inputs, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return results


def report(results: dict, seed: int, seconds: float) -> int:
    outcomes = Counter(o for _, o, _ in results.values())
    by_kind = Counter((k, o) for k, o, _ in results.values())
    n = len(results)
    print(f"inputs            {n:,}  (seed {seed}, {seconds:.0f} s, {n / max(seconds, 1e-9):,.0f} inputs/s)")
    print(f"  by kind         " + ", ".join(f"{k} {sum(c for (kk, _), c in by_kind.items() if kk == k):,}"
                                           for k in KINDS))
    print(f"successes         {outcomes['success']:,}  (parsed and ran)")
    print(f"user errors       {outcomes['user_error'] + outcomes['run_user_error']:,}  "
          f"(parse/check {outcomes['user_error']:,}, at run time {outcomes['run_user_error']:,})")
    bad = outcomes["crash"] + outcomes["unlocated"]
    print(f"crashes           {bad:,}  (unlocated syntax errors {outcomes['unlocated']:,})")
    print(f"hangs             {outcomes['hang']:,}")
    print(f"memory blow-ups   {outcomes['memory']:,}")
    firsts = {}
    for i in sorted(results):
        kind, outcome, detail = results[i]
        if outcome in ("crash", "unlocated", "hang", "memory"):
            key = (outcome, detail.split("\n")[0].split(":")[0])
            firsts.setdefault(key, (i, kind, detail))
    for (outcome, what), (i, kind, detail) in list(firsts.items())[:8]:
        data = input_for(seed, i)[1]
        shown = repr(data if len(data) <= 300 else data[:300]) + (" ..." if len(data) > 300 else "")
        print(f"\n{outcome}: {what or detail[:80]}  (input {i}, {kind})")
        print(f"  reproduce: .venv/bin/python bench/bench_fuzz.py --seed {seed} --replay {i}")
        print(f"  input: {shown}")
        if detail:
            print("  " + detail.strip().replace("\n", "\n  ")[:1500])
    return 0 if not (bad or outcomes["hang"] or outcomes["memory"]) else 1


def replay(seed: int, index: int) -> None:
    kind, data = input_for(seed, index)
    print(f"input {index} ({kind}): {data!r}"[:5000])
    with tempfile.TemporaryDirectory(prefix="bench_fuzz_") as tmpdir:
        outcome, detail = classify(kind, data, os.path.join(tmpdir, "fuzz.crasp"), seed + index)
    print(f"{outcome}: {detail}")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="how many inputs (default 10^5)")
    ap.add_argument("--quick", action="store_true", help="2,000 inputs: a smoke test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per input before it counts as a hang")
    ap.add_argument("--memory", type=float, default=2.0, help="GiB of address space per worker (0: no limit)")
    ap.add_argument("--batch", type=int, default=5000, help="inputs per worker process")
    ap.add_argument("--replay", type=int, default=None, help="run input INDEX here and show the outcome")
    args, _ = ap.parse_known_args(argv)  # bench/run_all.py passes its own arguments through
    if not 1 <= args.n <= 10 ** 7 or args.timeout <= 0 or args.batch < 1:
        ap.error("--n must be in 1..10^7, --timeout positive and --batch at least 1")
    if args.replay is not None:
        replay(args.seed, args.replay)
        return 0
    n = 2000 if args.quick else args.n
    t = time.perf_counter()
    results = run_all(n, args.seed, args.timeout, args.memory, args.batch, progress=n > 10_000)
    return report(results, args.seed, time.perf_counter() - t)


if __name__ == "__main__":
    code = main()
    if os.path.basename(sys.argv[0]) == "bench_fuzz.py":  # bench/run_all.py runs every bench in one process
        sys.exit(code)
