"""`verify classify` under one budget (issue 21): the vectorized monoid stages give exactly what the
element-by-element definitions give, a stage that runs out of work or time is reported as not finished
(never as a verdict), and a 21,402-element monoid is classified with certificates for Δ = 1..4."""
import json
import time
from typing import Dict, FrozenSet, List

import numpy as np
import pytest

from verify.cli import main
from verify.regular.budget import DONE, NOT_FINISHED, SKIPPED, Budget
from verify.regular.classify import STAGES, classify_dfa, classify_regex
from verify.regular.dfa import Dfa
from verify.regular.monoid import transition_monoid
from verify.regular.pumping import periodic_local_certificates, recheck_all
from verify.regular.randgen import random_regexes
from verify.regular.regex import regex_dfa


# ------------------------------------------------------------------ the definitions, one element at a time
def naive_stability(monoid):
    """The least s >= 1 with η(Σ^s) = η(Σ^2s), from the layers as Python sets (the former implementation)."""
    layers: List[FrozenSet[int]] = []
    first_seen: Dict[FrozenSet[int], int] = {}
    cur = frozenset(int(x) for x in monoid.right[0])
    k = 1
    while cur not in first_seen:
        first_seen[cur] = k
        layers.append(cur)
        cur = frozenset(int(monoid.right[m, a]) for m in cur for a in range(monoid.right.shape[1]))
        k += 1
    t, p = first_seen[cur], k - first_seen[cur]
    s = next(s for s in range(max(t, 1), t + p + 1) if s % p == 0)
    return s, layers[s - 1]


def naive_classes(monoid):
    group = [m for m in range(monoid.size) if monoid.power_cycle(m)[1] > 1]
    s, stable = naive_stability(monoid)
    stable_group = [m for m in sorted(stable) if monoid.power_cycle(m)[1] > 1]
    idem = [e for e in range(monoid.size) if monoid.mul(e, e) == e]
    return (group[0] if group else None, stable_group[0] if stable_group else None, s, stable, tuple(idem))


def languages():
    for p in random_regexes(150, ("a", "b"), seed=11) + random_regexes(60, ("a", "b", "c"), seed=12, depth=6):
        yield regex_dfa(p, None)
    rng = np.random.default_rng(4)
    for _ in range(60):
        n, k = int(rng.integers(2, 7)), int(rng.integers(1, 4))
        yield Dfa(tuple("abc"[:k]), rng.integers(0, n, size=(n, k)), rng.random(n) < 0.5, 0).minimize()


def test_vectorized_classes_and_layers_agree_with_the_definitions():
    seen_groups = 0
    for dfa in languages():
        m = transition_monoid(dfa)
        group, stable_group, s, stable, idem = naive_classes(m)
        assert m.group_witness == group and m.stable_group_witness == stable_group
        assert m.stability == (s, stable) and m.idempotents == idem
        seen_groups += group is not None
        for length in (1, 2, s, 2 * s + 1, 4 * s):          # every layer's word has that length and element
            for e in sorted(m.layers.elements(length, m.size))[:3]:
                word = m.layer_word(e, length)
                assert word is not None and len(word) == length and m.element_of(word) == e
    assert seen_groups >= 20


def test_r_classes_are_the_strongly_connected_components():
    import networkx as nx
    for dfa in list(languages())[::5]:
        m = transition_monoid(dfa)
        g = nx.DiGraph()
        g.add_nodes_from(range(m.size))
        g.add_edges_from((a, int(b)) for a in range(m.size) for b in m.right[a])
        assert sorted(map(sorted, m.r_classes)) == sorted(map(sorted, nx.strongly_connected_components(g)))


# ------------------------------------------------------------------ the budget
def test_past_the_work_budget_the_monoid_is_too_large_and_the_decider_still_answers():
    dfa = regex_dfa("(b*ab*a)*b*", ("a", "b"))
    c = classify_dfa(dfa, "end", budget=Budget(10.0, work=10))
    assert c.stages["monoid"].status == NOT_FINISHED and "work budget" in c.stages["monoid"].reason
    assert c.classes == {"R": None, "R_omega": None, "aperiodic": None, "quasi_aperiodic": None}
    assert c.crasp.value is False and c.crasp.rests_on == "decider"
    assert c.ape.value is None and "monoid too large" in c.ape.line
    assert c.stages["layers"].status == c.stages["certificates"].status == SKIPPED


def test_past_the_deadline_every_stage_is_not_finished_and_nothing_is_decided():
    dfa = regex_dfa("(ab|bbaa)*", ("a", "b"))
    c = classify_dfa(dfa, "last", budget=Budget(0.0, work=10 ** 9, started=time.monotonic() - 1))
    assert c.stages["minimal_dfa"].status == NOT_FINISHED and "ran out" in c.stages["minimal_dfa"].reason
    assert c.crasp.value is None and c.ape.value is None
    assert "not finished within the budget" in c.crasp.line


def test_the_deadline_stops_a_stage_that_does_not_check_it(monkeypatch):
    """A synthesis that never returns is stopped at the deadline by the timer: reported, not a verdict."""
    import verify.regular.synthesis as synthesis

    def forever(*args, **kwargs):
        while True:
            sum(range(1000))
    monkeypatch.setattr(synthesis, "synthesize", forever)
    started = time.monotonic()
    c = classify_regex("(aa)*", ("a",), "last", synthesis_budget_s=1.0)
    assert time.monotonic() - started < 5
    assert c.stages["synthesis"].status == NOT_FINISHED and c.ape.value is None
    assert c.crasp.value is False                                    # the decider's verdict stands


def test_stages_in_json_and_in_the_terminal(capsys):
    code = main(["classify", "(b*ab*a)*b*", "--json", "--budget", "0"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and tuple(data["stages"]) == STAGES
    assert {k: v["status"] for k, v in data["stages"].items()} == {
        "minimal_dfa": DONE, "decider": DONE, "monoid": DONE, "layers": DONE, "certificates": DONE,
        "synthesis": SKIPPED}
    assert data["stages"]["synthesis"]["reason"] == "--budget 0" and data["stages"]["decider"]["reason"] is None
    code = main(["classify", "(ab)*", "--budget", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "stages: minimal dfa done; decider done; monoid done; layers done; certificates skipped" in out


def test_a_monoid_of_21402_elements_gets_certificates_for_every_shown_period():
    """Issue 21's case: a random 10-state automaton over 4 letters; its stability index is 66, so the
    certificates' words have 66·Δ letters, all read from the layers computed once."""
    delta = [[8, 6, 7, 3], [8, 1, 5, 7], [8, 5, 3, 3], [4, 4, 7, 8], [0, 9, 5, 3], [6, 5, 2, 3], [7, 5, 5, 3],
             [7, 3, 3, 8], [2, 2, 7, 6], [0, 0, 3, 8]]
    dfa = Dfa(("a", "b", "c", "d"), np.array(delta), np.array([0, 1, 0, 1, 1, 1, 1, 0, 1, 1], dtype=bool), 0)
    c = classify_dfa(dfa, "end")
    assert all(c.stages[s].status == DONE for s in STAGES[:-1])
    assert c.classes["quasi_aperiodic"] is False and c.ape.value is False and c.ape.rests_on == "pumping"
    certs = c.ape.witness["certificates"]
    assert [x["delta"] for x in certs] == [1, 2, 3, 4] and [x["u_length"] for x in certs] == [66, 132, 198, 264]
    m = transition_monoid(c.dfa)
    assert m.size == 21402
    found = periodic_local_certificates(m, deltas=(5,))
    assert recheck_all(found, c.dfa) == [(True, recheck_all(found, c.dfa)[0][1])] and len(found[0].u) == 330


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_budget_argument_is_checked(bad, capsys):
    assert main(["classify", "a*", "--budget", str(bad)]) == 2
