"""Predicting, from the weights and training-range inputs only, whether a checkpoint keeps ≥ 90% accuracy on
the longest test bin (`verify audit --task T`). Nothing here runs an input longer than `train_max`
(`_Draws` refuses to), and torch_bridge.measure is never imported: the prediction cannot peek at what it
predicts.

Evidence, each grounded in the theory (SPEC §2–3, docs/theory.md); bench/bench_checkpoints.py scores the
combination on checkpoints with measured accuracies:
  fit        — exact match on training-range inputs at position offset 0 and at random offsets across the
               table. The paper trains at random offsets, so a model that learned the task in a translation-
               invariant way is right at every offset; one that is not has tied itself to absolute positions.
               Below 90% at offset 0 it speaks against (the longest bin is judged at 90%); from 90% to 99%
               neither way (the estimate, never above that accuracy, carries it).
  theory     — whether the task is expressible in the fragment of the checkpoint's encoding
               (C-RASP[periodic,local] with a position table, plain C-RASP without: Theorems 7 and 9).
               Where it is not, no Limit Transformer satisfying PERIODIC and LOCAL computes the task at every
               length, and on the paper's evidence no trained transformer generalizes either.
  length trend — every training-range input's margin (how far its outputs are from flipping,
               torch_bridge.evaluate) by length over the upper half of the training range; the trend is
               extrapolated to the longest bin. Margins that shrink with length (a count read at ever finer
               resolution, an attention pattern that dilutes) reach zero somewhere.
  distance   — a behavioural PERIODIC-and-LOCAL test: the positions after a cut inside a training-range input
               move by a gap G (a multiple of 12, as far as the longest bin's shortest inputs reach), so the
               tokens before the cut sit farther away than training ever put them, while every residue mod 12 and
               every relation within the two parts stay as trained. A Limit Transformer satisfying PERIODIC (Δ | G)
               and LOCAL (τ < G) computes the same outputs except those that hang on relations across the cut; a
               control with a small gap breaks exactly those, and only outputs right under the control count.
  heads      — per layer and head (torch_bridge.heads): how widely it attends, how much of its attention the
               distance test moves, and whether ablating it changes the training-range outputs: which heads
               read distance, and whether the output depends on them. Descriptive; not in the decision.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from torch_bridge.evaluate import encode, forward_margins, position_correct
from torch_bridge.heads import HeadEvidence, localise
from torch_bridge.task_adapter import TaskAdapter
from verify.problems import UserError

THRESHOLD = 0.9               # "generalizes": accuracy ≥ this on the longest bin (the paper's reading of Figure 1)
FIT = 0.99                    # training-range accuracy at offset 0 from this on: fitted (below THRESHOLD: against)
FIT_OFFSETS = 0.97            # a fitted model at random offsets: the table's last rows are trained more thinly
DEFAULT_TARGET = (101, 150)


@dataclass(frozen=True)
class Evidence:
    name: str                  # fit | theory | length trend | heads
    finding: str               # in words a researcher can act on
    supports: Optional[bool]   # True: for generalizing, False: against, None: neutral / descriptive
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "finding": self.finding, "supports": self.supports, "data": self.data}


@dataclass(frozen=True)
class Prediction:
    generalizes: Optional[bool]
    score: Optional[float]     # the estimated accuracy on the longest bin, in [0, 1]
    reason: str
    target: Tuple[int, int]
    train_max: int
    evidence: Tuple[Evidence, ...]
    heads: Tuple[HeadEvidence, ...]
    seconds: float

    def as_dict(self) -> dict:
        return {"generalizes": self.generalizes, "score": self.score, "reason": self.reason,
                "target_bin": list(self.target), "threshold": THRESHOLD, "train_max": self.train_max,
                "evidence": [e.as_dict() for e in self.evidence], "heads": [h.as_dict() for h in self.heads],
                "seconds": round(self.seconds, 2),
                "method": f"weights and inputs of length ≤ {self.train_max} only (no longer input is run)"}


@dataclass(frozen=True)
class Theory:
    """The task's verdict in the fragment of the checkpoint's encoding, and what it rests on."""
    expressible: Optional[bool]
    fragment: str              # C-RASP[periodic,local] (a position table) or C-RASP (NoPE)
    basis: str

    def line(self) -> str:
        mark = {True: "expressible", False: "not expressible", None: "undecided"}[self.expressible]
        return f"{mark} in {self.fragment} — {self.basis}"

    def as_dict(self) -> dict:
        return {"expressible": self.expressible, "fragment": self.fragment, "basis": self.basis}


def theory_of(case, nope: bool) -> Theory:
    """The catalogue's verdict for the task in the checkpoint's fragment (not re-checked here: the line says
    which command checks it)."""
    from verify.crasp.fragment import fragment
    frag = "C-RASP" if nope else "C-RASP[periodic,local]"
    expected = case.expected_nope if nope else case.expected_ape
    program = case.build_program() if case.program is not None else None
    if expected and program is not None:
        pf = fragment(program)
        named = "plain C-RASP" if pf == "plain" else f"C-RASP[{pf.replace('+', ',')}]"
        return Theory(True, frag, f"the catalogue's {named} program (checked against the reference by `verify check "
                                  f"{case.name}`; not re-run here)")
    if nope and case.extra.get("nope") == "undecided":
        return Theory(None, frag, case.nope_reason or "no plain C-RASP program is known and none is ruled out")
    if not expected:
        why = case.nope_reason if nope and case.nope_reason else (case.citation or case.no_program_reason)
        cited = "cited" in (why or "").lower() or not why
        return Theory(False, frag, ("cited: " if cited and not (why or "").lower().startswith("cited") else "")
                      + (why or "the paper's label"))
    return Theory(None, frag, "no program in the catalogue and no certificate")


class _Draws:
    """Training-range inputs only: every draw is checked against train_max."""

    def __init__(self, adapter: TaskAdapter, train_max: int, seed: int):
        self.adapter, self.train_max = adapter, train_max
        self.data = adapter.task_data()
        self.rng = np.random.default_rng(seed)
        self.lengths = self.data.valid_lengths(0, train_max)

    def draw(self, size: int, lo: int, hi: int):
        if hi > self.train_max:
            raise AssertionError(f"the prediction drew an input of length up to {hi} > train_max {self.train_max}")
        return encode(self.adapter, self.data.sample(self.rng, size, lo, hi))


def _fit(model, draws: _Draws, samples: int) -> Evidence:
    enc = draws.draw(samples, 0, draws.train_max)
    at_zero = float((forward_margins(model, draws.adapter, enc) > 0).mean())
    data = {"accuracy_offset_0": at_zero, "samples": samples}
    n_positions = draws.adapter.n_positions
    shifted = None
    if n_positions is not None:
        room = np.maximum(n_positions - enc.lengths, 0)
        offsets = (draws.rng.random(len(room)) * (room + 1)).astype(np.int64)
        shifted = float((forward_margins(model, draws.adapter, enc, offsets) > 0).mean())
        data["accuracy_random_offsets"] = shifted
    n = draws.train_max
    if at_zero < THRESHOLD:
        return Evidence("fit", f"below the longest bin's bar already in the training range: {100 * at_zero:.1f}% exact "
                               f"match on lengths ≤ {n} at offset 0 (generalizing means ≥ {100 * THRESHOLD:.0f}%)",
                        False, data)
    # the offsets' bar is relative: a model right on 96% at offset 0 may be 95% across the table and still be
    # translation-invariant; a fitted one (≥ FIT) must stay ≥ FIT_OFFSETS
    bar = min(at_zero, FIT) - (FIT - FIT_OFFSETS)
    if shifted is not None and shifted < bar:
        return Evidence("fit", f"right on {100 * at_zero:.1f}% of training-range inputs at offset 0 but on "
                               f"{100 * shifted:.1f}% at random offsets across the table (≥ {100 * bar:.0f}% expected of "
                               f"a model trained at random offsets) — it is tied to absolute positions", False, data)
    where = "" if shifted is None else f", {100 * shifted:.1f}% at random offsets across the table"
    if at_zero < FIT:   # neither for nor against: the estimate (never above this accuracy) carries it
        return Evidence("fit", f"fits the training range only in part: {100 * at_zero:.1f}% exact match on lengths ≤ "
                               f"{n} at offset 0{where} (fitted means ≥ {100 * FIT:.0f}%; the longest bin's bar is "
                               f"{100 * THRESHOLD:.0f}%)", None, data)
    return Evidence("fit", f"fits the training range: {100 * at_zero:.1f}% exact match on lengths ≤ {n} at offset 0"
                           f"{where}", True, data)


def _trend(model, draws: _Draws, target: Tuple[int, int], per_length: int) -> Evidence:
    """Low-quantile margins by length over the upper half of the training range, extrapolated linearly."""
    lengths = draws.lengths[draws.lengths >= max(draws.lengths.min(), draws.train_max // 2)]
    if len(lengths) > 8:
        lengths = lengths[np.linspace(0, len(lengths) - 1, 8).round().astype(int)]
    if len(lengths) < 3:
        return Evidence("length trend", f"too few valid lengths in the training range ({len(lengths)}) to fit a "
                                        f"trend", None, {"lengths": [int(n) for n in lengths]})
    rows, last = [], None
    for n in lengths:
        margins = forward_margins(model, draws.adapter, draws.draw(per_length, int(n), int(n)))
        rows.append((int(n), float(np.quantile(margins, 0.1)), float(np.median(margins)), float((margins > 0).mean())))
        last = margins
    ns = np.array([r[0] for r in rows], float)
    q = np.array([r[1] for r in rows])
    med = np.array([r[2] for r in rows])
    # the low quantile's trend where the model is right on most inputs (it is then the edge that breaks first),
    # else the median's (a low quantile of wrong inputs is noise)
    follows = "10% quantile" if (q > 0).all() else "median"
    slope, intercept = np.polyfit(ns, q if follows == "10% quantile" else med, 1)
    top = ns.max()
    # the bin's accuracy is an average over its lengths: the shifted margins' accuracy at five lengths across it
    spots = np.linspace(target[0], target[1], 5)
    extrapolated = float(np.mean([(last + min(0.0, slope) * (n - top) > 0).mean() for n in spots]))
    target_hi = target[1]
    data = {"lengths": ns.astype(int).tolist(), "q10": q.tolist(), "median": med.tolist(),
            "accuracy": [r[3] for r in rows], "follows": follows, "slope_per_symbol": float(slope),
            "at_target": float(intercept + slope * target_hi), "extrapolated_accuracy": extrapolated,
            "target_bin": list(target)}
    if slope >= 0:
        finding = (f"margins do not shrink with length over {int(ns.min())}–{int(top)} ({follows} slope "
                   f"{slope:+.3g} per symbol): nothing in the training range points to a breakdown")
    else:
        finding = (f"margins shrink with length ({follows} slope {slope:+.3g} per symbol over {int(ns.min())}–"
                   f"{int(top)}): extrapolated across lengths {target[0]}–{target_hi}, {100 * extrapolated:.0f}% of inputs "
                   f"stay right")
    return Evidence("length trend", finding, extrapolated >= THRESHOLD, data)


GAP_UNIT = 12                  # gaps are multiples of lcm(2, 3, 4): residues mod the catalogue's periods stay
GAP_CUTS = (0.3, 0.5, 0.7)     # where the input is cut, as a share of its length
INFORMATIVE = 0.5              # a cut whose control keeps fewer of the right inputs than this says nothing


def _gap(model, draws: _Draws, target_lo: int, samples: int):
    """Part of a training-range input moved farther away: positions after a cut inside the input shift by a gap
    G (a multiple of GAP_UNIT, as large as the table and the longest bin allow), so the tokens before the cut sit
    as far from the rest — the answer included — as in an input of the longest bin, while every residue mod 12
    and every local relation except those across the cut stay as trained. A PERIODIC and LOCAL model (Theorem 9's
    shape) computes the same outputs but for what depends on relations across the cut; a control with the
    smallest gap (GAP_UNIT, distances training reached) breaks exactly those, and is left out of the score: an
    input counts as kept when every output right under the control stays right under G."""
    adapter = draws.adapter
    n_positions = adapter.n_positions
    if n_positions is None:
        return Evidence("distance", "no position table (NoPE): moving tokens apart changes nothing the model sees",
                        None, {}), None
    top = int(draws.lengths.max())
    hi = max(int(draws.lengths.min()), top - GAP_UNIT)
    lo = max(int(draws.lengths.min()), draws.train_max // 2)
    if hi < lo:
        lo = hi
    enc = draws.draw(samples, lo, min(hi, top))
    width = enc.ids.shape[1]
    gap = min(n_positions - width, target_lo - min(hi, top))
    gap -= gap % GAP_UNIT
    if gap <= GAP_UNIT:
        return Evidence("distance", f"the table ({n_positions} rows) leaves no room to move tokens beyond the training "
                                    f"distances", None, {"gap": gap}), None
    plain = np.broadcast_to(np.arange(width), enc.ids.shape).copy()
    base = position_correct(model, adapter, enc, plain)
    data = {"gap": int(gap), "control_gap": GAP_UNIT, "lengths": [lo, min(hi, top)], "cuts": {}}
    kept, informative, probes = [], [], []
    for share in GAP_CUTS:
        length = _input_end(adapter, enc) - 1                 # the input's symbols sit at positions 1..length
        cut = 1 + np.floor(share * length).astype(np.int64)
        after = np.arange(width)[None, :] >= cut[:, None]
        control = position_correct(model, adapter, enc, plain + GAP_UNIT * after)
        moved = position_correct(model, adapter, enc, plain + gap * after)
        right = base.all(axis=1)
        ok = (moved | ~control).all(axis=1)[right]
        kept.append(float(ok.mean()) if ok.size else 0.0)
        control_right = float(control.all(axis=1)[right].mean()) if right.any() else 0.0
        data["cuts"][str(share)] = {"kept": kept[-1], "control_right": control_right}
        probes.append((kept[-1] if control_right >= INFORMATIVE else 2.0, plain + GAP_UNIT * after,
                       plain + gap * after, after))
        if control_right >= INFORMATIVE:
            informative.append(kept[-1])
    where = f"tokens before a cut moved {gap} positions away (lengths {lo}–{min(hi, top)})"
    _, control, moved, after = min(probes, key=lambda p: p[0])        # the cut that moved the outputs most
    probe = (enc, plain, control, moved, after)
    if not informative:
        data["kept"] = None
        return Evidence("distance", f"{where}: inconclusive — the control (a gap of {GAP_UNIT}) already changes the "
                                    f"outputs of most inputs at every cut, so the task's outputs hang on the local "
                                    f"relations a cut breaks", None, data), probe
    worst = min(informative)
    data["kept"] = worst
    if worst >= THRESHOLD:
        return Evidence("distance", f"{where}: {100 * worst:.0f}% of inputs keep every output the control keeps — "
                                   f"its outputs do not depend on how far apart tokens are beyond training", True,
                        data), probe
    return Evidence("distance", f"{where}: only {100 * worst:.0f}% of inputs keep every output the control keeps — it "
                                f"reads absolute distances that longer inputs will change", False, data), probe


def _input_end(adapter, enc) -> np.ndarray:
    """Per row, the position after the input part (the separator for sequence tasks, the row's end for languages)."""
    if adapter.head != "next_token":
        return enc.lengths
    scored = enc.targets != -100
    return scored.argmax(axis=1)          # the separator's position predicts the first answer token


def predict(model, adapter: TaskAdapter, theory: Theory, train_max: int = 50,
            target: Tuple[int, int] = DEFAULT_TARGET, samples: int = 600, seed: int = 0) -> Prediction:
    """The prediction for the longest bin `target` from inputs of length ≤ train_max."""
    import torch
    t0 = time.perf_counter()
    if train_max < 1:
        raise UserError(f"--train-max must be at least 1, not {train_max}")
    if target[1] <= train_max:
        raise UserError(f"the longest bin {target[0]}-{target[1]} lies inside the training range (≤ {train_max}): "
                        f"there is nothing to predict; measure it instead (--measure)")
    try:
        draws = _Draws(adapter, train_max, seed)
    except UserError as ex:
        return Prediction(None, None, f"no prediction: {ex.message}", target, train_max, (), (), 0.0)
    model.eval()
    torch.manual_seed(seed)
    evidence: List[Evidence] = [_fit(model, draws, samples)]
    evidence.append(Evidence("theory", theory.line(), theory.expressible, theory.as_dict()))
    evidence.append(_trend(model, draws, target, max(50, samples // 8)))
    distance, probe = _gap(model, draws, target[0], max(100, samples // 4))
    evidence.append(distance)
    if probe is None:   # no distance test: the heads' spread and ablation on training-range inputs alone
        enc = draws.draw(min(128, samples), max(1, draws.train_max // 2), draws.train_max)
        plain = np.broadcast_to(np.arange(enc.ids.shape[1]), enc.ids.shape).copy()
        probe = (enc, plain, None, None, None)
    heads = localise(model, adapter, *probe)
    generalizes, score, reason = _decide(evidence)
    return Prediction(generalizes, score, reason, target, train_max, tuple(evidence), heads,
                      time.perf_counter() - t0)


AGAINST = 0.85     # the estimate's scale when other evidence speaks against generalizing (score < THRESHOLD then)


def _decide(evidence: Sequence[Evidence]):
    """(generalizes, score, reason). score: the estimated accuracy on the longest bin — the share of the longest
    training-range inputs still right after the length trend's shift, never above the training-range accuracy —
    scaled by AGAINST when the fit or the theory speaks against generalizing, so that score ≥ THRESHOLD exactly
    when the prediction is "generalizes"."""
    by = {e.name: e for e in evidence}
    fit, theory, trend, distance = by["fit"], by["theory"], by["length trend"], by["distance"]
    fitted = min(v for k, v in fit.data.items() if k.startswith("accuracy"))   # never above training-range accuracy
    estimate = float(min(fitted, trend.data.get("extrapolated_accuracy", fitted), distance.data.get("kept") or 1.0))
    against = [e for e in (fit, theory, distance, trend) if e.supports is False]
    if against:
        e = against[0]
        reason = e.finding if e is not theory else (f"the task is {theory.finding}; a model that fits the training "
                                                     f"range still cannot be right at every length")
        return False, AGAINST * estimate if e is not trend else estimate, reason
    if trend.supports is None:
        return None, None, f"no prediction: {trend.finding}"
    # what the "generalizes" does not rest on, said in the same line
    unchecked = "" if distance.supports else "; no distance test (" + (
        "NoPE: no position table" if not distance.data else
        "no room in the table" if "cuts" not in distance.data else "inconclusive: the control breaks most outputs") + ")"
    return True, estimate, ("fits the training range" if fit.supports else "is right on most training-range inputs") + \
        ", and its margins hold up with length" + \
        ("" if theory.supports else f" (the task is {theory.finding})") + unchecked
