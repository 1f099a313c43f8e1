"""Whole-process figures of `verify run` and `verify --help` (issue 12 §1), each beside a reference
measured in the same run:

  1. `verify --help`                                   target < 0.15 s
  2. `verify run` Dyck-1, n = 10^4 (input from a file)  target within 1.5x of `python -c "import numpy"`
  3. `verify run` Dyck-1, n = 10^6                      target < 0.5 s and < 200 MB,
     beside a numpy floor: a process that reads the same file and runs one cumsum over it
  4. the scaling exponent of both over n (the least-squares slope of log time above startup
     against log n).
  5. `verify run` Dyck-1, n = 10^7: peak memory (issue 21: <= 150 MiB; the program is evaluated in
     chunks, so only the input grows with n).

Each figure is the best of 3 runs after a warm-up run (wall-clock, and CPU = user + sys of the
child, which a busy machine inflates less); memory is the child's peak resident set
(/usr/bin/time). Children run with bytecode caching on (in a temporary folder), as an installed
package does, even where $PYTHONDONTWRITEBYTECODE is set (it costs every run ~40 ms of compiling). When
$CRASP_REFERENCE points to a command that takes a file name (e.g. a public C-RASP interpreter's
Dyck-1 runner), it is measured beside the numpy floor.

    .venv/bin/python bench/bench_process.py            # n up to 10^6
    .venv/bin/python bench/bench_process.py --full     # n up to 10^7
"""
from __future__ import annotations

import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VERIFY = Path(sys.executable).parent / "verify"
DYCK = ROOT / "examples" / "dyck1.crasp"

FLOOR = ("import sys, numpy as np\n"
         "a = np.frombuffer(open(sys.argv[1], 'rb').read(), dtype=np.uint8)\n"
         "d = np.cumsum(np.where(a == 40, 1, -1)[a != 10], dtype=np.int64)\n"
         "print('accepted' if d.min() >= 0 and d[-1] == 0 else 'rejected')\n")


TIME = "/usr/bin/time"  # a small C process: the child's peak RSS is its own (a child forked from this
                       # Python process would report this process's peak as its floor)


ENV = dict(os.environ)


def _run_once(argv):
    """(wall s, CPU s, peak RSS bytes) of one run."""
    if os.path.exists(TIME):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
            t = time.perf_counter()
            proc = subprocess.run([TIME, "-f", "%U %S %M", "-o", f.name, *map(str, argv)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
            wall = time.perf_counter() - t
            fields = f.read().split()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, argv))} exited {proc.returncode}: {proc.stderr[-500:]!r}")
        return wall, float(fields[-3]) + float(fields[-2]), int(fields[-1]) * 1024
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def measure(argv, repeats: int = 3):
    """Best wall seconds, best CPU seconds (user + sys) and the largest peak RSS (bytes) over `repeats`
    runs, after one warm-up run (which writes the bytecode cache, as an installed package has)."""
    _run_once(argv)
    runs = [_run_once(argv) for _ in range(repeats)]
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def dyck_file(folder: Path, n: int) -> Path:
    path = folder / f"dyck_{n}.txt"
    if not path.exists():
        rng = np.random.default_rng(n)
        steps = rng.integers(0, 2, size=n)
        path.write_bytes(np.where(steps == 0, ord("("), ord(")")).astype(np.uint8).tobytes())
    return path


def slope(ns, ts, base):
    """Least-squares slope of log(t - base) against log n (points at or below base are skipped)."""
    pts = [(math.log(n), math.log(t - base)) for n, t in zip(ns, ts) if t > base * 1.05]
    if len(pts) < 2:
        return float("nan")
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def row(name, ours, ref, ref_name, target=""):
    w, c, m = ours
    line = f"   {name:34s} {w:7.3f} s wall {c:7.3f} s CPU {m / 2**20:7.1f} MB"
    if ref is not None:
        rw, rc, rm = ref
        line += f" | {ref_name}: {rw:6.3f} s wall {rc:6.3f} s CPU {rm / 2**20:6.1f} MB | ratio {c / rc:5.2f}x CPU"
    print(line + (f"  ({target})" if target else ""), flush=True)


def main(full: bool = False, repeats: int = 3) -> dict:
    py = sys.executable
    reference = os.environ.get("CRASP_REFERENCE")
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        folder = Path(tmp)
        # as a user's installed package runs: with compiled bytecode (kept out of the source tree)
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        print("1. startup")
        help_ = measure([str(VERIFY), "--help"], repeats)
        bare = measure([py, "-c", "pass"], repeats)
        row("verify --help", help_, bare, "python -c pass", "target < 0.15 s")
        numpy_ = measure([py, "-c", "import numpy"], repeats)
        out.update(help=help_, python=bare, numpy=numpy_)

        print("2. verify run dyck1, n = 10^4, beside `python -c \"import numpy\"`")
        small = measure([str(VERIFY), "run", str(DYCK), "--input-file", str(dyck_file(folder, 10**4))], repeats)
        row("verify run (n = 10^4)", small, numpy_, "import numpy", "target <= 1.5x")
        out["run_1e4"] = small

        print("3. verify run dyck1 at growing n, beside the numpy floor (read + one cumsum)")
        ns = [10**4, 10**5, 3 * 10**5, 10**6] + ([3 * 10**6, 10**7] if full else [])
        ours, floor, theirs = [], [], []
        for n in ns:
            path = dyck_file(folder, n)
            o = measure([str(VERIFY), "run", str(DYCK), "--input-file", str(path)], repeats)
            f = measure([py, "-c", FLOOR, str(path)], repeats)
            target = "target < 0.5 s, < 200 MB" if n == 10**6 else ""
            row(f"verify run (n = {n:,})", o, f, "numpy floor", target)
            ours.append(o)
            floor.append(f)
            if reference:
                r = measure(shlex.split(reference) + [str(path)], repeats)
                row(f"{'':34s}", o, r, "$CRASP_REFERENCE")
                theirs.append(r)
            out[f"run_{n}"] = o
            out[f"floor_{n}"] = f
        print("4. scaling exponent over n (slope of log(CPU above startup) against log n)")
        k_ours = slope(ns, [c for _, c, _ in ours], ours[0][1])
        k_floor = slope(ns, [c for _, c, _ in floor], floor[0][1])
        show = lambda k: "n/a (the growth is below the timer's 10 ms)" if math.isnan(k) else f"{k:.2f}"
        print(f"   verify run: {show(k_ours)}   numpy floor: {show(k_floor)}   (1.00 = linear; the n = 10^4 run "
              "is taken as startup)")
        out.update(exponent_ours=k_ours, exponent_floor=k_floor)

        print("5. flat memory: verify run dyck1 at 10^7 symbols from a file (chunks with carried prefix state; "
              "the input itself is 1 byte a symbol)")
        big = out.get(f"run_{10**7}") or measure([str(VERIFY), "run", str(DYCK), "--input-file",
                                                  str(dyck_file(folder, 10**7))], 1)
        row("verify run (n = 10,000,000)", big, None, "", "target peak <= 150 MiB")
        grow = (big[2] - out[f"run_{10**6}"][2]) / 9e6
        print(f"   peak memory {big[2] / 2**20:.1f} MiB; {grow:.2f} bytes per symbol from 10^6 to 10^7")
        out["run_1e7"] = big
    return out


if __name__ == "__main__":
    main("--full" in sys.argv)
