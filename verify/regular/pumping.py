"""Pumping certificates that a regular language has no C-RASP program (REGULAR.md §4).

Lemma [recon]: for a C-RASP[periodic,local] program with period Δ and words x, u, y with Δ | |u|,
the output at the end of x·uᵏ·y (or at an end marker after it) is constant for all large k.
So words with Δ | |u| whose membership pattern over k is periodic and NOT constant refute every
program of period Δ. If L is not quasi-aperiodic, its stable semigroup η(Σ^s) = η(Σ^(sΔ)) holds a
group element g ≠ g^ω, so for EVERY Δ a word u of length s·Δ with η(u) = g exists: no
C-RASP[periodic,local] program at all. With Δ = 1 and any group element (not aperiodic), the
same argument rules out plain C-RASP.

A certificate is checked by `recheck(cert, dfa)`, from the DFA alone: Δ divides |u|; the stored
pattern is the DFA's membership of x·uᵏ·y for k = 0..K; u^(1+p) acts on every state exactly as u
(so the pattern repeats with period p for ALL k >= 1, not just up to K); and the pattern on
k = 1..p is not constant. For the all-Δ claim it also recomputes s and checks that u's element
lies in η(Σ^s) = η(Σ^2s)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from verify.regular.budget import Budget
from verify.regular.dfa import Dfa
from verify.regular.monoid import Monoid, transition_monoid

SHOWN_DELTAS = (1, 2, 3, 4)


@dataclass(frozen=True)
class PumpingCertificate:
    kind: str                    # "plain" (Δ = 1: not aperiodic) or "periodic_local" (not quasi-aperiodic)
    delta: int                   # Δ: |u| is a multiple of it
    x: Tuple[str, ...]
    u: Tuple[str, ...]
    y: Tuple[str, ...]
    period: int                  # p: the order of the group element η(u)
    pattern: Tuple[bool, ...]    # membership of x·uᵏ·y for k = 0..len-1
    stability: int = 0           # s (periodic_local only)

    def as_dict(self) -> Dict[str, object]:
        return {"kind": self.kind, "delta": self.delta, "x": "".join(self.x), "u": "".join(self.u),
                "y": "".join(self.y), "u_length": len(self.u), "period": self.period,
                "stability_index": self.stability or None,
                "pattern": "".join("1" if b else "0" for b in self.pattern),
                "pattern_meaning": "k-th character: is x·u^k·y in L, k = 0, 1, 2, ..."}

    def describe(self) -> str:
        show = lambda w: "".join(w) or "ε"
        return (f"x={show(self.x)}, u={show(self.u)} (|u|={len(self.u)}, Δ={self.delta}), y={show(self.y)}: "
                f"x·u^k·y ∈ L for k=0.. is {''.join('1' if b else '0' for b in self.pattern)} "
                f"(period {self.period} for all k ≥ 1, never constant)")


def _word_map(dfa: Dfa, word) -> np.ndarray:
    q = np.arange(dfa.n_states)
    k = {a: i for i, a in enumerate(dfa.alphabet)}
    for a in word:
        q = dfa.delta[q, k[a]]
    return q


def membership_pattern(dfa: Dfa, x, u, y, count: int) -> Tuple[bool, ...]:
    """Membership of x·u^k·y for k = 0..count-1 (u's and y's actions as maps: O(|u| + |y| + count) steps)."""
    q = dfa.run(x)
    mu, accept_after_y = _word_map(dfa, u), dfa.accepting[_word_map(dfa, y)]
    out = []
    for _ in range(count):
        out.append(bool(accept_after_y[q]))
        q = int(mu[q])
    return tuple(out)


def distinguishing_suffix(dfa: Dfa, p: int, q: int) -> Optional[Tuple[str, ...]]:
    """A shortest y with exactly one of p·y, q·y accepting (BFS over pairs)."""
    start = (p, q)
    back: Dict[Tuple[int, int], Optional[Tuple[Tuple[int, int], str]]] = {start: None}
    todo = [start]
    for pair in todo:
        if dfa.accepting[pair[0]] != dfa.accepting[pair[1]]:
            word = []
            while back[pair] is not None:
                pair, a = back[pair]  # type: ignore[misc]
                word.append(a)
            return tuple(reversed(word))
        for k, a in enumerate(dfa.alphabet):
            nxt = (int(dfa.delta[pair[0], k]), int(dfa.delta[pair[1], k]))
            if nxt not in back:
                back[nxt] = (pair, a)
                todo.append(nxt)
    return None


def _certificate(monoid: Monoid, witness: int, u: Tuple[str, ...], kind: str, delta: int,
                 stability: int = 0) -> Optional[PumpingCertificate]:
    dfa = monoid.dfa
    g = monoid.element_of(u)
    _, p, e = monoid.power_cycle(g)
    ge, ee = monoid.maps[g], monoid.maps[e]
    differ = np.nonzero(ge != ee)[0]
    if len(differ) == 0 or p < 2:
        return None
    from verify.regular.decider import access_words
    words = access_words(dfa)
    q = int(min(differ, key=lambda s: (len(words[s]), s)))
    y = distinguishing_suffix(dfa, int(ge[q]), int(ee[q]))
    if y is None:
        return None
    x = words[q]
    pattern = membership_pattern(dfa, x, u, y, max(2 * p + 2, 6))
    return PumpingCertificate(kind, delta, tuple(x), tuple(u), tuple(y), p, pattern, stability)


def plain_certificate(monoid: Monoid) -> Optional[PumpingCertificate]:
    """Δ = 1: a group element g ≠ g^ω anywhere in M (the language is not aperiodic)."""
    m = monoid.group_witness
    if m is None:
        return None
    _, _, e = monoid.power_cycle(m)
    g = monoid.mul(e, m)
    return _certificate(monoid, g, monoid.words[g], "plain", 1)


def periodic_local_certificates(monoid: Monoid, deltas=SHOWN_DELTAS) -> List[PumpingCertificate]:
    """One certificate per Δ in `deltas` from the stable semigroup (not quasi-aperiodic), else []."""
    m = monoid.stable_group_witness
    if m is None:
        return []
    s, _ = monoid.stability
    _, _, e = monoid.power_cycle(m)
    g = monoid.mul(e, m)                 # in the stable semigroup (a semigroup), generates the group
    out = []
    for delta in deltas:
        u = monoid.layer_word(g, s * delta)
        if u is None:                    # impossible when η(Σ^s) = η(Σ^sΔ); recheck would catch it
            raise AssertionError(f"no word of length {s * delta} for a stable element")
        cert = _certificate(monoid, g, u, "periodic_local", delta, s)
        if cert is not None:
            out.append(cert)
    return out


def recheck_all(certs: Sequence[PumpingCertificate], dfa: Dfa,
                budget: Optional[Budget] = None) -> List[Tuple[bool, str]]:
    """`recheck` for each certificate, the stable semigroup recomputed from the DFA once for them all."""
    fresh = None
    if any(c.kind == "periodic_local" for c in certs):
        fresh = transition_monoid(dfa, budget=budget)
    return [recheck(c, dfa, fresh) for c in certs]


def recheck(cert: PumpingCertificate, dfa: Dfa, fresh: Optional[Monoid] = None) -> Tuple[bool, str]:
    """(valid, why): recomputes everything the certificate claims from the DFA (`fresh`: the DFA's monoid,
    built anew by the caller for several certificates; by default built here)."""
    if any(a not in dfa.alphabet for a in cert.x + cert.u + cert.y):
        return False, "a word uses a symbol outside the alphabet"
    if not cert.u or len(cert.u) % cert.delta:
        return False, f"|u| = {len(cert.u)} is not a positive multiple of Δ = {cert.delta}"
    if cert.period < 2 or len(cert.pattern) < cert.period + 2:
        return False, "the period must be at least 2 and the pattern must cover k = 0..p+1"
    if membership_pattern(dfa, cert.x, cert.u, cert.y, len(cert.pattern)) != cert.pattern:
        return False, "the stored membership pattern is not the DFA's"
    mu = _word_map(dfa, cert.u)
    power = np.arange(dfa.n_states)
    for _ in range(cert.period + 1):
        power = mu[power]
    if not np.array_equal(power, mu):
        return False, f"u^{cert.period + 1} does not act as u on every state: the pattern need not repeat"
    if len(set(cert.pattern[1:cert.period + 1])) < 2:
        return False, "the pattern is constant on k = 1..p"
    if cert.kind == "periodic_local":
        monoid = fresh if fresh is not None else transition_monoid(dfa)
        if monoid.dfa is not dfa:
            raise ValueError("recheck: the monoid given is not the DFA's")
        s, stable = monoid.stability
        if s != cert.stability:
            return False, f"the stability index is {s}, not {cert.stability}"
        if monoid.element_of(cert.u) not in stable:
            return False, "u's element is not in the stable semigroup η(Σ^s)"
    elif cert.kind != "plain":
        return False, f"unknown certificate kind {cert.kind!r}"
    return True, ("valid: membership of x·u^k·y for k ≥ 1 repeats with period "
                  f"{cert.period} for every k (u^{cert.period + 1} acts as u) and is not constant")
