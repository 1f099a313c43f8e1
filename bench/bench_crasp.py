"""Interpreter and checker speed (issue 2 targets), on one core.

    .venv/bin/python bench/bench_crasp.py

Targets: Dyck-1 on one input of length 10^6 < 50 ms; a guarded count (distances {1,2,3}) on
length 10^6 < 100 ms; `verify check dyck1` exhaustive up to 16 plus 10^4 random strings up to
length 500 < 10 s."""
from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from verify.catalogue import get_case  # noqa: E402
from verify.checking import check_case  # noqa: E402
from verify.crasp.interpreter import accepts, straight_line  # noqa: E402
from verify.crasp.parser import parse_program  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def best_of(fn, repeats=7):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    dyck = parse_program(open(os.path.join(HERE, "..", "examples", "dyck1.crasp")).read())
    straight_line(dyck)
    x = rng.integers(0, 2, size=(1, 10**6))
    best, med = best_of(lambda: accepts(dyck, x))
    print(f"dyck1, one input of length 10^6: best {best * 1e3:.1f} ms, median {med * 1e3:.1f} ms (target < 50 ms)")

    guarded = parse_program('alphabet "0" "1"\nlet g = #["1" @ 1, 2, 3]\naccept = #[g == 3] > 0')
    straight_line(guarded)
    best, med = best_of(lambda: accepts(guarded, x))
    print(f"guarded count @ {{1,2,3}}, length 10^6: best {best * 1e3:.1f} ms, median {med * 1e3:.1f} ms "
          f"(target < 100 ms)")

    case = get_case("dyck1")
    t = time.perf_counter()
    v = check_case(case, max_len=16, samples=10_000, sample_max_len=500)
    elapsed = time.perf_counter() - t
    print(f"check dyck1 (exhaustive <= 16, 10^4 random <= 500): {elapsed:.2f} s, {v.status} (target < 10 s)")


if __name__ == "__main__":
    main()
