"""Peak memory of `verify run dyck1 --input-file F` against the input's length (issue 21, "flat memory";
prints figures, no asserts, not a timed test).

Without --trace the program is evaluated in chunks that carry only the prefix state the next chunk needs
(verify/crasp/interpreter.py: `Chunked`, `last_values`), so what grows with n is the input itself (one
byte a symbol for a single-character alphabet). Each row is
one child process, its peak resident set from wait4 (whole process: Python, numpy, the toolkit); from a
file the ids go into one buffer sized by the file (about 1 byte a symbol plus a fixed ~25 MiB for the 4 MiB
chunk being decoded), from standard input into chunks joined at the end (about 2 bytes a symbol):

    n          peak RSS    above the floor    bytes / symbol    CPU s

The floor is the same command on a 2-symbol input. Target: <= 150 MiB at n = 10^7.

    .venv/bin/python bench/bench_run_memory.py            # n = 10^5, 10^6, 10^7
    .venv/bin/python bench/bench_run_memory.py --quick    # n = 10^5, 10^6
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

VERIFY = Path(sys.executable).parent / "verify"
TARGET_MIB = 150


def dyck_file(folder: Path, n: int, seed: int = 0) -> Path:
    """A balanced Dyck-1 word of length n (n even): blocks (^d )^d of random depth d in 1..64, then ()s.
    Plain Python, no numpy: this process stays small (see `measure`)."""
    rng = random.Random(seed)
    blocks, size = [], 0
    while True:
        d = rng.randint(1, 64)
        if size + 2 * d > n:
            break
        blocks.append(b"(" * d + b")" * d)
        size += 2 * d
    blocks.append(b"()" * ((n - size) // 2))
    path = folder / f"dyck1_{n}.txt"
    path.write_bytes(b"".join(blocks) + b"\n")
    return path


def measure(argv, stdin=None) -> tuple:
    """(peak RSS in bytes, CPU seconds, last line of stdout) of one child process. Linux keeps a process's
    peak across exec, so a child forked from a big parent starts with the parent's resident size: this
    process imports no numpy and holds no input (it stays near 10 MiB, below the child's floor)."""
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {proc.returncode}: {out[-500:]}")
    return usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, out.strip().splitlines()[-1]


def main(argv) -> None:
    sizes = [10 ** 5, 10 ** 6] if "--quick" in argv else [10 ** 5, 10 ** 6, 10 ** 7]
    mib = 1 << 20
    with tempfile.TemporaryDirectory() as tmp:
        floor, _, _ = measure([str(VERIFY), "run", "dyck1", "()"])
        print(f"verify run dyck1 --input-file F: peak resident memory of the whole process (target <= {TARGET_MIB} "
              f"MiB at 10^7)")
        print(f"floor (2 symbols on the command line): {floor / mib:.1f} MiB")
        print(f"{'n':>10}  {'peak RSS':>10}  {'above floor':>11}  {'bytes/symbol':>12}  {'CPU s':>6}  answer")
        for n in sizes:
            path = dyck_file(Path(tmp), n)
            rss, cpu, answer = measure([str(VERIFY), "run", "dyck1", "--input-file", str(path)])
            print(f"{n:>10,}  {rss / mib:>6.1f} MiB  {(rss - floor) / mib:>7.1f} MiB  {(rss - floor) / n:>12.2f}  "
                  f"{cpu:>6.2f}  {answer}" + ("" if n < 10 ** 7 else
                                               f"  [{'within' if rss <= TARGET_MIB * mib else 'OVER'} the target]"))
        with open(path, "rb") as f:          # the largest input again, from standard input (no size known ahead)
            rss, cpu, answer = measure([str(VERIFY), "run", "dyck1", "-"], stdin=f)
        print(f"{n:>10,}  {rss / mib:>6.1f} MiB  {(rss - floor) / mib:>7.1f} MiB  {(rss - floor) / n:>12.2f}  "
              f"{cpu:>6.2f}  {answer}  (from standard input: chunks joined at the end)")


if __name__ == "__main__":
    main(sys.argv[1:])
