"""Benchmarks. First the issue-12 summary: every figure as this project beside a reference measured
in the same run, as a ratio, and scaling exponents over n; then every bench script in bench/
(each prints its own figures).

    .venv/bin/python bench/run_all.py                  # summary, then every bench_*.py
    .venv/bin/python bench/run_all.py --summary        # the summary only (about a minute)
    .venv/bin/python bench/run_all.py --full           # the summary with n up to 10^7
    .venv/bin/python bench/run_all.py crasp smt        # only these scripts (no summary)

References: no public C-RASP interpreter is installed here, so the references are floors: a bare
`python -c "import numpy"`, a numpy process that reads the input and runs one cumsum, one
np.cumsum in this process over the same ids; $CRASP_REFERENCE (a command taking an input file)
adds a public interpreter to bench_process.py when one is available.
"""
from __future__ import annotations

import math
import pathlib
import runpy
import sys
import time

here = pathlib.Path(__file__).parent
sys.path.insert(0, str(here))


def _best(fn, repeats=5):
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _slope(ns, ts):
    import numpy as np
    x, y = np.log(np.array(ns, dtype=float)), np.log(np.array(ts))
    return float(np.polyfit(x, y, 1)[0])


def engine_rows(full: bool):
    """In-process: tokenize + evaluate Dyck-1 (examples/dyck1.crasp) against one np.cumsum over the
    same symbols, at growing n; ratio at the largest n and both exponents."""
    import numpy as np

    from verify.crasp.interpreter import accepts, straight_line, tokenize_ids
    from verify.crasp.parser import load_program
    prog = load_program(str(here.parent / "examples" / "dyck1.crasp"))
    straight_line(prog)
    ns = [10**4, 10**5, 10**6] + ([10**7] if full else [])
    ours, floor, tok, tok_floor = [], [], [], []
    table = np.zeros(256, dtype=np.int8)
    table[ord(")")] = 1
    for n in ns:
        text = "".join(np.where(np.random.default_rng(n).integers(0, 2, n) == 0, "(", ")"))
        ids = tokenize_ids(prog.alphabet, text)[None, :]
        ours.append(_best(lambda: accepts(prog, ids)))
        floor.append(_best(lambda: np.cumsum(1 - 2 * ids, axis=1)))
        tok.append(_best(lambda: tokenize_ids(prog.alphabet, text)))
        tok_floor.append(_best(lambda: table[np.frombuffer(text.encode("latin-1"), np.uint8)]))
    return ns, ours, floor, tok, tok_floor


def summary(full: bool = False) -> None:
    import bench_process
    print("== issue 12 summary: this project vs a reference measured now (ratio = ours / reference)")
    p = bench_process.main(full=full)
    n_big = 10**7 if full else 10**6
    rows = [
        ("verify --help (wall s)", p["help"][0], p["python"][0], "python -c pass", "< 0.15 s"),
        ("verify run dyck1 n=10^4 (CPU s)", p["run_1e4"][1], p["numpy"][1], "python -c 'import numpy'", "<= 1.5x"),
        ("verify run dyck1 n=10^6 (wall s)", p["run_1000000"][0], p["floor_1000000"][0], "numpy floor process",
         "< 0.5 s"),
        ("verify run dyck1 n=10^6 (CPU s)", p["run_1000000"][1], p["floor_1000000"][1], "numpy floor process", ""),
        ("verify run dyck1 n=10^6 (peak MB)", p["run_1000000"][2] / 2**20, p["floor_1000000"][2] / 2**20,
         "numpy floor process", "< 200 MB"),
    ]
    ns, ours, floor, tok, tok_floor = engine_rows(full)
    rows += [
        (f"engine: dyck1 at n={n_big:.0e} (s)", ours[-1], floor[-1], "one np.cumsum", ""),
        (f"tokenize n={n_big:.0e} (s)", tok[-1], tok_floor[-1], "one table lookup", "~ms"),
    ]
    print()
    print(f"   {'figure':36s} {'ours':>10s} {'reference':>10s} {'ratio':>7s}  reference / target")
    for name, a, b, ref, target in rows:
        print(f"   {name:36s} {a:10.4f} {b:10.4f} {a / b:7.2f}  {ref}" + (f" / target {target}" if target else ""))
    print(f"   scaling exponent over n = {ns[0]:.0e}..{ns[-1]:.0e}: engine {_slope(ns, ours):.2f}, "
          f"np.cumsum {_slope(ns, floor):.2f}, tokenize {_slope(ns, tok):.2f}; whole process (above startup): "
          f"verify run {p['exponent_ours']:.2f}, numpy floor {p['exponent_floor']:.2f} (nan: below the timer's 10 ms)")
    _smt_rows()


def _smt_rows() -> None:
    """A proof's answer does not depend on load: the work it spends alone and beside a busy process."""
    import bench_smt
    bench_smt.determinism()


def scripts(only) -> None:
    for script in sorted(here.glob("bench_*.py")):
        if only and not any(o in script.name for o in only):
            continue
        print(f"== {script.name}")
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    args = sys.argv[1:]
    flags = {a for a in args if a.startswith("--")}
    only = [a for a in args if not a.startswith("--")]
    if not only:
        summary(full="--full" in flags)
    if "--summary" not in flags:
        scripts(only)
