"""`verify audit CHECKPOINT --task TASK`: the checkpoint run on its task — the vocabulary adapter
(torch_bridge.task_adapter), the prediction from the training range (torch_bridge.predict), the measurement
per length bin when asked (torch_bridge.measure), and the task's theory verdict — set side by side. A thin
orchestrator: each stage is its own module, and the prediction is made before anything is measured."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

from torch_bridge.predict import THRESHOLD, Prediction, Theory, predict, theory_of
from verify.problems import UserError

EXIT_GENERALIZES, EXIT_FAILS, EXIT_NO_PREDICTION = 0, 1, 3


@dataclass(frozen=True)
class TaskAudit:
    task: dict                      # the adapter: task, head, vocabulary source, answer <eos>, notes
    theory: Theory
    prediction: Prediction
    measured: Optional[object]      # torch_bridge.measure.Measurement, when asked for

    @property
    def exit_code(self) -> int:
        g = self.prediction.generalizes
        return EXIT_NO_PREDICTION if g is None else (EXIT_GENERALIZES if g else EXIT_FAILS)

    @property
    def side_by_side(self) -> str:
        p = self.prediction
        lo, hi = p.target
        said = {True: "generalizes", False: "does not generalize", None: "no prediction"}[p.generalizes]
        score = "" if p.score is None else f", score {p.score:.2f}"
        parts = [f"predicted (lengths ≤ {p.train_max} only): {said} on {lo}–{hi}{score}"]
        if self.measured is not None:
            b = next((b for b in self.measured.bins if (b.lo, b.hi) == (lo, hi)), None)
            if b is None:
                parts.append(f"measured: bin {lo}–{hi} not measured")
            else:
                parts.append(f"measured: {100 * b.accuracy:.1f}% ± {100 * b.stderr:.1f} on {lo}–{hi} "
                             f"({'generalizes' if b.accuracy >= THRESHOLD else 'does not generalize'})")
        else:
            parts.append("measured: not run (--measure)")
        t = self.theory
        parts.append("theory: " + {True: "expressible", False: "not expressible", None: "undecided"}[t.expressible]
                     + f" in {t.fragment}")
        return " | ".join(parts)

    def as_dict(self) -> dict:
        return {"task": self.task, "theory": self.theory.as_dict(), "prediction": self.prediction.as_dict(),
                "measured": None if self.measured is None else self.measured.as_dict(),
                "side_by_side": self.side_by_side}


def run_task_audit(checkpoint, folder: Optional[Path], task: str, vocab: Optional[str] = None,
                   measure: bool = False, bins: Optional[Sequence[Tuple[int, int]]] = None,
                   samples: int = 2000, train_max: int = 50, seed: int = 0, progress=None) -> TaskAudit:
    """Adapter, prediction, then (when asked) the measurement, for a loaded Checkpoint."""
    from torch_bridge.data import DEFAULT_BINS
    from torch_bridge.task_adapter import adapt
    from verify.catalogue import get_case
    case = get_case(task)
    adapter = adapt(checkpoint, case, vocab=vocab, folder=folder)
    chosen = tuple(bins) if bins is not None else DEFAULT_BINS
    target = max(chosen, key=lambda b: b[1])
    model = checkpoint.model()
    theory = theory_of(adapter.case, checkpoint.nope)
    step = progress.add_task("predict", total=None, info="") if progress is not None else None
    prediction = _within_table(adapter, target, train_max) or predict(model, adapter, theory, train_max, target,
                                                                       seed=seed)
    if progress is not None:
        progress.update(step, total=1, completed=1)
    measured = None
    if measure:
        from torch_bridge.measure import measure as run_measure
        measured = run_measure(model, adapter, chosen, samples, seed, explicit_bins=bins is not None,
                               progress=progress)
    return TaskAudit(adapter.as_dict(), theory, prediction, measured)


def _within_table(adapter, target, train_max) -> Optional[Prediction]:
    """No prediction for a bin the position table cannot hold (test positions start at 0, SPEC §5)."""
    if adapter.n_positions is None:
        return None
    need = adapter.positions_needed(target[1])
    if need <= adapter.n_positions:
        return None
    return Prediction(None, None, f"no prediction: the longest bin {target[0]}-{target[1]} needs {need} positions, "
                                  f"the table has {adapter.n_positions}; the model cannot be run there at all",
                      target, train_max, (), (), 0.0)


def check_task_options(train_max: int, samples: int) -> None:
    if not 1 <= train_max <= 100_000:
        raise UserError(f"--train-max must be an integer in 1..100000, not {train_max}")
    if not 1 <= samples <= 1_000_000:
        raise UserError(f"--samples must be in 1..1000000, not {samples}")
