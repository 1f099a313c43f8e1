"""Small programs built with the builder API, for tests, benches and the catalogue-free fallbacks,
plus a random generator of well-typed C-RASP[periodic, local] programs (one corpus, every backend)."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from verify.crasp import ast as A
from verify.crasp.builder import (ProgramBuilder, add, and_, count, eq, ge, gt, guarded, ite, le, lt, max_,
                                  min_, ne, not_, or_, periodic, prev, scale, sub, sym)


def dyck1() -> A.Program:
    b = ProgramBuilder(["(", ")"], source="<dyck1>")
    o = b.let("open", count(sym("(")))
    c = b.let("close", count(sym(")")))
    dips = b.let("dips", count(lt(o, c)))
    b.accept(and_(eq(dips, 0), eq(o, c)))
    return b.build()


def majority() -> A.Program:
    """Binary majority as a language: more 1s than 0s in the prefix."""
    b = ProgramBuilder(["0", "1"], source="<majority>")
    b.accept(gt(count(sym("1")), count(sym("0"))))
    return b.build()


def aa_star() -> A.Program:
    """(aa)* over {a, b}: only a's and the length is even (periodic)."""
    b = ProgramBuilder(["a", "b"], source="<aa_star>")
    b.accept(and_(eq(count(sym("b")), 0), periodic(2, [0])))
    return b.build()


def ends_ab() -> A.Program:
    """Σ*ab (local): the previous symbol is a and this one is b."""
    b = ProgramBuilder(["a", "b"], source="<ends_ab>")
    b.accept(and_(sym("b"), prev(sym("a"), 1)))
    return b.build()


_CMP = (lt, le, eq, ne, ge, gt)


def random_program(rng: np.random.Generator, alphabet: Sequence[str] = ("a", "b"), size: int = 8,
                   periodic_ok: bool = True, local_ok: bool = True) -> A.Program:
    """A random well-typed program using every operation kind (sugar included)."""
    b = ProgramBuilder(list(alphabet), source="<random>")
    bools: List[A.Expr] = [sym(a) for a in alphabet]
    counts: List[A.Expr] = []

    def pick(xs):
        return xs[int(rng.integers(len(xs)))]

    for k in range(size):
        choice = rng.random()
        if not counts or choice < 0.35:
            p = pick(bools)
            if local_ok and rng.random() < 0.35:
                ds = sorted(set(int(d) for d in rng.integers(0, 4, size=int(rng.integers(1, 3)))))
                counts.append(b.let(f"c{k}", guarded(p, ds)))
            else:
                counts.append(b.let(f"c{k}", count(p)))
        elif choice < 0.6:
            x, y = pick(counts), pick(counts)
            form = int(rng.integers(7))
            e = [add(x, y), sub(x, y), scale(int(rng.integers(-2, 3)), x), ite(pick(bools), x, y),
                 min_(x, y), max_(x, y), add(x, int(rng.integers(-2, 3)))][form]
            counts.append(b.let(f"c{k}", e))
        else:
            form = int(rng.integers(6 if periodic_ok else 5))
            x, y = pick(counts), pick(counts)
            e = [pick(_CMP)(x, y), pick(_CMP)(x, int(rng.integers(-1, 3))), and_(pick(bools), pick(bools)),
                 or_(pick(bools), pick(bools)), not_(pick(bools)),
                 periodic(int(rng.integers(2, 4)), [0])][form]
            bools.append(b.let(f"p{k}", e))
    b.accept(pick(bools[len(alphabet):] or bools))
    return b.build()
