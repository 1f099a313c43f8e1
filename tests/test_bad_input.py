"""The bad-input table (issue 9): every command driven with unknown names, zero / negative / huge
numbers, nan and inf, empty and out-of-alphabet input, missing / unreadable / folder files and
unwritable outputs. Each row must end in exit code 2 with a short message (no traceback), within
seconds, leaving nothing in the working folder; an internal error must exit 70 with one line.

The rows run in-process through verify.cli.main (fast); a few run the installed script."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
DYCK = str(EX / "dyck1.crasp")
T4 = str(EX / "tomita4.crasp")
BIG = str(10 ** 12)
HUGE = str(10 ** 30)
ROW_SECONDS = 30          # a row that takes longer is a hang (the guard is missing)

# H-numbers: which helper's part a row depends on (issue 9). A row whose owner has not landed yet is
# xfail(strict=True): it flips to a failure as soon as the owner's fix makes it pass.
PENDING: dict = {   # row id -> owner, for rows that fail until that owner's part lands (none now)
}


def _commands():
    from verify import commands
    import pkgutil
    return {m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")}


# (id, argv, needle): needle (lower case) must appear in the message; "{w}" is the working folder
ROWS = [
    # --- global / usage
    ("no-such-command", ["nosuch"], "no such command"),
    ("global-bad-option", ["--nosuch", "cases"], "no such option"),
    # --- cases
    ("cases-extra-arg", ["cases", "extra"], "unexpected extra argument"),
    ("cases-bad-option", ["cases", "--max-len", "3"], "no such option"),
    # --- run
    ("run-unknown-case", ["run", "nosuch", "01"], "nosuch"),
    ("run-missing-file", ["run", "{w}/missing.crasp", "01"], "no such program file"),
    ("run-folder-as-program", ["run", "{w}/adir/", "01"], "adir"),
    ("run-empty-program", ["run", "{w}/empty.crasp", "01"], "empty.crasp"),
    ("run-binary-program", ["run", "{w}/binary.crasp", "01"], "binary.crasp"),
    ("run-text-not-crasp", ["run", "{w}/afile.txt", "01"], "afile.txt"),
    ("run-empty-input", ["run", DYCK, ""], "empty input"),
    ("run-blank-input", ["run", DYCK, "   "], "empty input"),
    ("run-out-of-alphabet", ["run", DYCK, "(x)"], "symbol"),
    ("run-out-of-alphabet-case", ["run", "tomita4", "012"], "symbol"),
    ("run-bad-acceptance", ["run", DYCK, "()", "--acceptance", "bogus"], "--acceptance"),
    ("run-offset-huge", ["run", DYCK, "()", "--offset", HUGE], "--offset"),
    ("run-offset-not-int", ["run", DYCK, "()", "--offset", "1e5"], "--offset"),
    ("run-max-steps-zero", ["run", "bin_majority", "0 1 1", "--max-steps", "0"], "--max-steps"),
    ("run-max-steps-negative", ["run", "bin_majority", "0 1 1", "--max-steps", "-3"], "--max-steps"),
    ("run-max-steps-huge", ["run", "bin_majority", "0 1 1", "--max-steps", BIG], "--max-steps"),
    ("run-missing-input", ["run", DYCK], "missing argument"),
    # --- check
    ("check-unknown-case", ["check", "nosuch"], "nosuch"),
    ("check-file-without-case", ["check", DYCK], "--case"),
    ("check-unknown-case-for-file", ["check", DYCK, "--case", "nosuch"], "nosuch"),
    ("check-case-and-all", ["check", "dyck1", "--all"], "--all"),
    ("check-nothing", ["check"], "name a case"),
    ("check-max-len-negative", ["check", "dyck1", "--max-len", "-1"], "--max-len"),
    ("check-max-len-huge", ["check", "dyck1", "--max-len", "1000000000"], "--max-len"),
    ("check-max-len-float", ["check", "dyck1", "--max-len", "1e9"], "--max-len"),
    ("check-samples-negative", ["check", "dyck1", "--samples", "-1"], "--samples"),
    ("check-samples-huge", ["check", "dyck1", "--samples", BIG], "--samples"),
    ("check-sample-max-len-negative", ["check", "dyck1", "--sample-max-len", "-1"], "--sample-max-len"),
    ("check-budget-negative", ["check", "dyck1", "--budget", "-5"], "--budget"),
    ("check-budget-huge", ["check", "dyck1", "--budget", BIG], "--budget"),
    ("check-sample-max-len-zero", ["check", "dyck1", "--sample-max-len", "0"], "--sample-max-len"),
    ("check-sample-max-len-huge", ["check", "dyck1", "--sample-max-len", BIG], "--sample-max-len"),
    ("check-seed-negative", ["check", "dyck1", "--seed", "-1"], "--seed"),
    ("check-offset-huge", ["check", "dyck1", "--offset", HUGE], "--offset"),
    ("check-missing-file", ["check", "{w}/missing.crasp", "--case", "dyck1"], "no such program file"),
    # --- theorems
    ("theorems-only-matches-nothing", ["theorems", "--only", "no-such-theorem-xyz"], "no-such-theorem-xyz"),
    ("theorems-extra-arg", ["theorems", "extra"], "unexpected extra argument"),
    # --- report
    ("report-samples-negative", ["report", "--samples", "-1"], "--samples"),
    ("report-samples-huge", ["report", "--samples", BIG], "--samples"),
    ("report-sample-max-len-zero", ["report", "--sample-max-len", "0"], "--sample-max-len"),
    ("report-budget-negative", ["report", "--budget", "-1"], "--budget"),
    ("report-budget-huge", ["report", "--budget", BIG], "--budget"),
    ("report-sample-max-len-negative", ["report", "--sample-max-len", "-1"], "--sample-max-len"),
    ("report-sample-max-len-huge", ["report", "--sample-max-len", BIG], "--sample-max-len"),
    ("report-seed-negative", ["report", "--seed", "-1"], "--seed"),
    ("report-trained-missing", ["report", "--no-extra", "--trained", "{w}/missing.json"], "missing.json"),
    ("report-trained-folder", ["report", "--no-extra", "--trained", "{w}/adir"], "adir"),
    ("report-trained-garbage", ["report", "--no-extra", "--trained", "{w}/binary.crasp"], "binary.crasp"),
    ("report-trained-wrong-shape", ["report", "--no-extra", "--trained", "{w}/object.json"], "object.json"),
    ("report-trained-spread-not-numbers", ["report", "--no-extra", "--trained", "{w}/bad_spread.json"], "spread"),
    ("report-trained-accuracy-text", ["report", "--no-extra", "--trained", "{w}/bad_acc.json"], "acc_0_50"),
    ("report-trained-threshold-nan", ["report", "--no-extra", "--trained", "{w}/bad_threshold.json"], "threshold"),
    # --- compile (H8)
    ("compile-unknown-case", ["compile", "nosuch"], "nosuch"),
    ("compile-N-zero", ["compile", "dyck1", "--N", "0"], "--n"),
    ("compile-N-negative", ["compile", "dyck1", "--N", "-4"], "--n"),
    ("compile-N-float", ["compile", "dyck1", "--N", "1e5"], "--n"),
    ("compile-N-huge", ["compile", "dyck1", "--N", BIG], "--n"),
    ("compile-N-giant", ["compile", "dyck1", "--N", BIG], "--n"),
    ("compile-out-folder", ["compile", "dyck1", "--N", "16", "--out", "{w}/adir"], "--out"),
    ("compile-out-bad-suffix", ["compile", "dyck1", "--N", "16", "--out", "{w}/o/x.txt"], "--out"),
    ("compile-out-unwritable", ["compile", "dyck1", "--N", "16", "--out", "{w}/afile.txt/x.npz"], "--out"),
    ("compile-slope-nan", ["compile", "dyck1", "--N", "16", "--comparison", "relu", "--slope", "nan"], "--slope"),
    ("compile-slope-inf", ["compile", "dyck1", "--N", "16", "--comparison", "relu", "--slope", "inf"], "--slope"),
    ("compile-slope-negative", ["compile", "dyck1", "--N", "16", "--comparison", "relu", "--slope", "-1"], "--slope"),
    ("compile-bad-comparison", ["compile", "dyck1", "--N", "16", "--comparison", "bogus"], "--comparison"),
    ("compile-bad-logit-scale", ["compile", "dyck1", "--N", "16", "--logit-scale", "bogus"], "--logit-scale"),
    ("compile-hardness-negative", ["compile", "dyck1", "--N", "16", "--hardness", "-1"], "--hardness"),
    ("compile-check-length-negative", ["compile", "dyck1", "--N", "16", "--check-length", "-1"], "--check-length"),
    ("compile-check-length-huge", ["compile", "dyck1", "--N", "16", "--check-length", BIG], "--check-length"),
    ("compile-missing-file", ["compile", "{w}/missing.crasp"], "no such program file"),
    # --- conditions (H4)
    ("conditions-unknown-encoding", ["conditions", "bogus"], "bogus"),
    ("conditions-d-zero", ["conditions", "sinusoidal", "--d", "0"], "--d"),
    ("conditions-d-negative", ["conditions", "sinusoidal", "--d", "-2"], "--d"),
    ("conditions-d-odd", ["conditions", "sinusoidal", "--d", "3"], "--d"),
    ("conditions-d-huge", ["conditions", "sinusoidal", "--d", "1000000"], "--d"),
    ("conditions-frequencies-python", ["conditions", "sinusoidal", "--frequencies", "__import__('os').getcwd()"],
     "--frequencies"),
    ("conditions-frequencies-garbage", ["conditions", "sinusoidal", "--frequencies", "1,,(("], "--frequencies"),
    ("conditions-base-nan", ["conditions", "sinusoidal", "--base", "nan"], "--base"),
    ("conditions-base-zero", ["conditions", "sinusoidal", "--base", "0"], "--base"),
    ("conditions-period-zero", ["conditions", "onehot", "--period", "0"], "--period"),
    ("conditions-period-negative", ["conditions", "onehot", "--period", "-1"], "--period"),
    ("conditions-period-huge", ["conditions", "onehot", "--period", BIG], "--period"),
    ("conditions-thetas-empty", ["conditions", "rotary", "--thetas", ""], "--thetas"),
    ("conditions-thetas-python", ["conditions", "rotary", "--thetas", "open('x','w')"], "--thetas"),
    ("conditions-slope-nan", ["conditions", "alibi", "--slope", "nan"], "--slope"),
    ("conditions-window-negative", ["conditions", "alibi", "--window", "-1"], "--window"),
    ("conditions-matrix-ragged", ["conditions", "onehot", "--matrix", "1,2;3"], "--matrix"),
    ("conditions-matrix-python", ["conditions", "onehot", "--matrix", "__import__('os'),1;1,1"], "--matrix"),
    # --- comm-complexity (H5)
    ("comm-unknown-task", ["comm-complexity", "nosuch", "--N", "4"], "nosuch"),
    ("comm-unknown-module", ["comm-complexity", "no_such_module_xyz:f", "--N", "4"], "no_such_module_xyz"),
    ("comm-N-zero", ["comm-complexity", "copy", "--N", "0"], "--n"),
    ("comm-N-negative", ["comm-complexity", "copy", "--N", "-1"], "--n"),
    ("comm-N-huge", ["comm-complexity", "copy", "--N", BIG], "--n"),
    ("comm-bad-method", ["comm-complexity", "copy", "--N", "4", "--method", "bogus"], "--method"),
    ("comm-K-zero", ["comm-complexity", "copy", "--N", "4", "--K", "0"], "--k"),
    ("comm-K-huge", ["comm-complexity", "copy", "--N", "4", "--K", HUGE], "--k"),
    ("comm-tau-negative", ["comm-complexity", "copy", "--N", "4", "--tau", "-1"], "--tau"),
    ("comm-layers-zero", ["comm-complexity", "copy", "--N", "4", "--layers", "0"], "--layers"),
    ("comm-samples-zero", ["comm-complexity", "copy", "--N", "4", "--samples", "0"], "--samples"),
    ("comm-samples-huge", ["comm-complexity", "parity", "--N", "4", "--samples", BIG], "--samples"),
    ("comm-bad-format", ["comm-complexity", "copy", "--N", "4", "--format", "bogus"], "--format"),
    ("comm-seed-negative", ["comm-complexity", "parity", "--N", "4", "--seed", "-1"], "--seed"),
    ("comm-plot-folder", ["comm-complexity", "copy", "--N", "4", "--plot", "{w}/adir"], "--plot"),
    ("comm-plot-bad-suffix", ["comm-complexity", "copy", "--N", "4", "--plot", "{w}/p/x.txt"], "--plot"),
    ("comm-plot-name-too-long", ["comm-complexity", "copy", "--N", "4", "--plot", "{w}/" + "p" * 300 + ".png"],
     "--plot"),
    ("compile-out-name-too-long", ["compile", "dyck1", "--N", "16", "--out", "{w}/" + "c" * 300 + ".npz"], "--out"),
    ("comm-plot-unwritable", ["comm-complexity", "copy", "--N", "4", "--plot", "{w}/afile.txt/x.png"], "--plot"),
    # --- refute
    ("refute-unknown-program", ["refute", "nosuch"], "nosuch"),
    ("refute-unknown-spec", ["refute", T4, "--spec", "nosuch"], "nosuch"),
    ("refute-bad-regex", ["refute", T4, "--spec", "regex:(("], "regex"),
    ("refute-missing-spec-file", ["refute", T4, "--spec", "{w}/missing.json"], "missing.json"),
    ("refute-garbage-spec-file", ["refute", T4, "--spec", "{w}/object.json"], "object.json"),
    ("refute-file-without-spec", ["refute", T4], "--spec"),
    ("refute-max-len-zero", ["refute", "tomita4", "--max-len", "0"], "--max-len"),
    ("refute-max-len-negative", ["refute", "tomita4", "--max-len", "-1"], "--max-len"),
    ("refute-max-len-huge", ["refute", "tomita4", "--max-len", BIG], "--max-len"),
    ("refute-timeout-zero", ["refute", "tomita4", "--timeout", "0"], "--timeout"),
    ("refute-timeout-negative", ["refute", "tomita4", "--timeout", "-1"], "--timeout"),
    ("refute-timeout-inf", ["refute", "tomita4", "--timeout", "inf"], "--timeout"),
    ("refute-timeout-nan", ["refute", "tomita4", "--timeout", "nan"], "--timeout"),
    ("refute-timeout-huge", ["refute", "tomita4", "--timeout", "1e300"], "--timeout"),
    ("refute-bad-mode", ["refute", "tomita4", "--mode", "bogus"], "--mode"),
    ("refute-offset-huge", ["refute", "tomita4", "--offset", HUGE], "--offset"),
    # --- prove
    ("prove-unknown-program", ["prove", "nosuch"], "nosuch"),
    ("prove-max-k-zero", ["prove", "tomita4", "--max-k", "0"], "--max-k"),
    ("prove-max-k-huge", ["prove", "tomita4", "--max-k", BIG], "--max-k"),
    ("prove-bound-zero", ["prove", "tomita4", "--bound", "0"], "--bound"),
    ("prove-bound-huge", ["prove", "tomita4", "--bound", BIG], "--bound"),
    ("prove-timeout-inf", ["prove", "tomita4", "--timeout", "inf"], "--timeout"),
    ("prove-timeout-nan", ["prove", "tomita4", "--timeout", "nan"], "--timeout"),
    ("prove-timeout-negative", ["prove", "tomita4", "--timeout", "-5"], "--timeout"),
    ("prove-seed-negative", ["prove", "tomita4", "--seed", "-1"], "--seed"),
    ("prove-bad-mode", ["prove", "tomita4", "--mode", "bogus"], "--mode"),
    ("prove-offset-huge", ["prove", "tomita4", "--offset", HUGE], "--offset"),
    ("prove-bad-spec", ["prove", "tomita4", "--spec", "regex:[z"], "regex"),
    # --- equiv
    ("equiv-unknown-program", ["equiv", "nosuch", "dyck1"], "nosuch"),
    ("equiv-unknown-second", ["equiv", "dyck1", "nosuch"], "nosuch"),
    ("equiv-one-program", ["equiv", "dyck1"], "--empty"),
    ("equiv-two-and-empty", ["equiv", "dyck1", "dyck1", "--empty"], "--empty"),
    ("equiv-timeout-nan", ["equiv", "dyck1", DYCK, "--timeout", "nan"], "--timeout"),
    ("equiv-timeout-inf", ["equiv", "dyck1", DYCK, "--timeout", "inf"], "--timeout"),
    ("equiv-timeout-zero", ["equiv", "dyck1", DYCK, "--timeout", "0"], "--timeout"),
    ("equiv-bad-mode", ["equiv", "dyck1", DYCK, "--mode", "bogus"], "--mode"),
    ("equiv-unknown-output", ["equiv", "dyck1", DYCK, "--output", "nosuch"], "nosuch"),
    ("equiv-offset-huge", ["equiv", "dyck1", DYCK, "--offset", HUGE], "--offset"),
    ("equiv-alphabets-differ", ["equiv", "dyck1", "tomita4"], "alphabet"),
    # --- mutate
    ("mutate-unknown-program", ["mutate", "nosuch"], "nosuch"),
    ("mutate-timeout-inf", ["mutate", "tomita4", "--timeout", "inf"], "--timeout"),
    ("mutate-timeout-nan", ["mutate", "tomita4", "--timeout", "nan"], "--timeout"),
    ("mutate-timeout-negative", ["mutate", "tomita4", "--timeout", "-1"], "--timeout"),
    ("mutate-bad-mode", ["mutate", "tomita4", "--mode", "bogus"], "--mode"),
    ("mutate-missing-file", ["mutate", "{w}/missing.crasp"], "no such program file"),
]

TORCH_ROWS = [
    # --- train: every size is refused before a tensor is allocated
    ("train-unknown-case", ["train", "nosuch", "--steps", "1"], "nosuch"),
    ("train-bad-protocol", ["train", "tomita1", "--protocol", "nextsymbol"], "--protocol"),
    ("train-next-symbol-sequence", ["train", "sort", "--protocol", "next_symbol"], "sequence task"),
    ("train-bad-inputs", ["train", "d2", "--protocol", "next_symbol", "--inputs", "random"], "--inputs"),
    ("train-patience-zero", ["train", "d2", "--protocol", "next_symbol", "--patience", "0"], "--patience"),
    ("sweep-next-symbol-sequence", ["sweep", "tomita1", "parity", "--protocol", "next_symbol", "--dry-run"],
     "sequence task"),
    ("train-d-zero", ["train", "bin_majority", "--d", "0"], "--d"),
    ("train-d-negative", ["train", "bin_majority", "--d", "-8"], "--d"),
    ("train-d-float", ["train", "bin_majority", "--d", "1e9"], "--d"),
    ("train-d-huge", ["train", "bin_majority", "--d", "1000000000", "--heads", "1"], "--d"),
    ("train-d-big", ["train", "bin_majority", "--d", "262144", "--heads", "1", "--layers", "1"], "--d"),
    ("train-layers-zero", ["train", "bin_majority", "--layers", "0"], "--layers"),
    ("train-layers-huge", ["train", "bin_majority", "--layers", "100000"], "--layers"),
    ("train-heads-zero", ["train", "bin_majority", "--heads", "0"], "--heads"),
    ("train-heads-not-dividing", ["train", "bin_majority", "--heads", "3", "--d", "64"], "--heads"),
    ("train-heads-huge", ["train", "bin_majority", "--heads", BIG, "--d", BIG], "--"),
    ("train-steps-zero", ["train", "bin_majority", "--steps", "0"], "--steps"),
    ("train-steps-huge", ["train", "bin_majority", "--steps", BIG], "--steps"),
    ("train-batch-zero", ["train", "bin_majority", "--batch", "0"], "--batch"),
    ("train-batch-huge", ["train", "bin_majority", "--batch", "100000000"], "--batch"),
    ("train-lr-zero", ["train", "bin_majority", "--lr", "0"], "--lr"),
    ("train-lr-nan", ["train", "bin_majority", "--lr", "nan"], "--lr"),
    ("train-lr-inf", ["train", "bin_majority", "--lr", "inf"], "--lr"),
    ("train-lambda-nan", ["train", "bin_majority", "--pe", "reg", "--lambda", "nan"], "--lambda"),
    ("train-lambda-negative", ["train", "bin_majority", "--pe", "reg", "--lambda", "-1"], "--lambda"),
    ("train-bad-pe", ["train", "bin_majority", "--pe", "bogus"], "--pe"),
    ("train-eval-samples-zero", ["train", "bin_majority", "--eval-samples", "0"], "--eval-samples"),
    ("train-eval-samples-huge", ["train", "bin_majority", "--eval-samples", BIG], "--eval-samples"),
    ("train-threads-zero", ["train", "bin_majority", "--threads", "0"], "--threads"),
    ("train-threads-huge", ["train", "bin_majority", "--threads", "1000000"], "--threads"),
    ("train-seed-negative", ["train", "bin_majority", "--seed", "-1"], "--seed"),
    ("train-out-file", ["train", "bin_majority", "--steps", "1", "--out", "{w}/afile.txt"], "--out"),
    ("train-out-nonempty", ["train", "bin_majority", "--steps", "1", "--out", "{w}/full"], "--out"),
    ("train-out-name-too-long", ["train", "bin_majority", "--steps", "1", "--out", "{w}/" + "n" * 300], "--out"),
    ("train-out-unwritable", ["train", "bin_majority", "--steps", "1", "--out", "{w}/afile.txt/run"], "--out"),
    ("train-lambda-inf", ["train", "bin_majority", "--pe", "reg", "--lambda", "inf"], "--lambda"),
    # --- sweep: user errors leave no folder, no runs.jsonl, no results.json
    ("sweep-unknown-case", ["sweep", "nosuch", "--out", "{w}/sw"], "nosuch"),
    ("sweep-layers-garbage", ["sweep", "bin_majority", "--layers", "a", "--out", "{w}/sw"], "--layers"),
    ("sweep-layers-zero", ["sweep", "bin_majority", "--layers", "0", "--heads", "1", "--d", "16", "--lr", "1e-3",
                           "--seeds", "1", "--pe", "ape", "--out", "{w}/sw"], "--layers"),
    ("sweep-layers-empty", ["sweep", "bin_majority", "--layers", "", "--out", "{w}/sw"], "--layers"),
    ("sweep-d-zero", ["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "0", "--lr", "1e-3",
                      "--seeds", "1", "--pe", "ape", "--out", "{w}/sw"], "--d"),
    ("sweep-d-huge", ["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "1000000000", "--lr", "1e-3",
                      "--seeds", "1", "--pe", "ape", "--out", "{w}/sw"], "--d"),
    ("sweep-lr-nan", ["sweep", "bin_majority", "--lr", "nan", "--out", "{w}/sw"], "--lr"),
    ("sweep-lr-negative", ["sweep", "bin_majority", "--lr=-1", "--out", "{w}/sw"], "--lr"),
    ("sweep-lambda-nan", ["sweep", "bin_majority", "--lambda", "nan", "--out", "{w}/sw"], "--lambda"),
    ("sweep-seeds-zero", ["sweep", "bin_majority", "--seeds", "0", "--out", "{w}/sw"], "--seeds"),
    ("sweep-seeds-huge", ["sweep", "bin_majority", "--seeds", BIG, "--out", "{w}/sw"], "--seeds"),
    ("sweep-steps-zero", ["sweep", "bin_majority", "--steps", "0", "--out", "{w}/sw"], "--steps"),
    ("sweep-steps-huge", ["sweep", "bin_majority", "--steps", BIG, "--out", "{w}/sw"], "--steps"),
    ("sweep-eval-samples-zero", ["sweep", "bin_majority", "--eval-samples", "0", "--out", "{w}/sw"],
     "--eval-samples"),
    ("sweep-bad-pe", ["sweep", "bin_majority", "--pe", "bogus", "--out", "{w}/sw"], "--pe"),
    ("sweep-workers-zero", ["sweep", "bin_majority", "--workers", "0", "--out", "{w}/sw"], "--workers"),
    ("sweep-workers-huge", ["sweep", "bin_majority", "--workers", "1000000", "--out", "{w}/sw"], "--workers"),
    ("sweep-bad-backend", ["sweep", "bin_majority", "--backend", "bogus", "--out", "{w}/sw"], "--backend"),
    ("sweep-empty-grid", ["sweep", "bin_majority", "--heads", "3", "--d", "16", "--out", "{w}/sw"], "grid"),
    ("sweep-out-file", ["sweep", "bin_majority", "--out", "{w}/afile.txt"], "--out"),
    ("sweep-out-name-too-long", ["sweep", "bin_majority", "--out", "{w}/" + "s" * 300], "--out"),
    ("sweep-out-unwritable", ["sweep", "bin_majority", "--out", "{w}/afile.txt/sw"], "--out"),
    # issue 20: a file that is not a checkpoint (the weights-only unpickler's IndexError), a config.json that is
    # a FIFO or nested too deeply, and a run that diverged (NaN weights are never saved)
    ("audit-pickle-not-a-checkpoint", ["audit", "{w}/notckpt.pt"], "not a readable torch checkpoint"),
    ("audit-config-fifo", ["audit", "{w}/ckfifo"], "not a regular file"),
    ("audit-config-deep", ["audit", "{w}/ckdeep"], "nested too deeply"),
    ("train-lr-diverges", ["train", "bin_majority", "--lr", "1e30", "--layers", "1", "--heads", "1", "--d", "16",
                           "--steps", "5", "--eval-samples", "10", "--out", "{w}/run"], "diverged"),
    # --- audit (H4 owns the checkpoint checks; the --plot destination is checked here)
    ("audit-missing", ["audit", "{w}/missing"], "missing"),
    ("audit-empty-folder", ["audit", "{w}/adir"], "adir"),
    ("audit-garbage-file", ["audit", "{w}/binary.crasp"], "binary.crasp"),
    ("audit-text-file", ["audit", "{w}/afile.txt"], "afile.txt"),
    ("audit-residual-zero", ["audit", "{w}/adir", "--residual", "0"], "--residual"),
    ("audit-residual-nan", ["audit", "{w}/adir", "--residual", "nan"], "--residual"),
    ("audit-window-zero", ["audit", "{w}/adir", "--window", "0"], "--window"),
    ("audit-window-huge", ["audit", "{w}/adir", "--window", BIG], "--window"),
    ("audit-heads-zero", ["audit", "{w}/adir", "--heads", "0"], "--heads"),
    ("audit-heads-negative", ["audit", "{w}/adir", "--heads", "-1"], "--heads"),
    ("audit-plot-file", ["audit", "{w}/adir", "--plot", "{w}/afile.txt"], "--plot"),
    ("audit-plot-unwritable", ["audit", "{w}/adir", "--plot", "{w}/afile.txt/plots"], "--plot"),
]

# issue 20: files, streams and processes. A FIFO (pipe*) is refused at once where a file is read or written (it
# used to block forever, or be replaced); a file read whole has its size checked first (huge.*: sparse files of
# 2 GiB); nested JSON, JSON of the wrong type and non-UTF-8 text are user errors, never exit 70.
ROWS += [
    ("run-input-file-fifo", ["run", DYCK, "--input-file", "{w}/pipe"], "not a regular file"),
    ("run-input-file-device", ["run", DYCK, "--input-file", "/dev/zero"], "not a regular file"),
    ("run-trace-file-fifo", ["run", DYCK, "()", "--trace-file", "{w}/pipe"], "not a regular file"),
    ("run-program-fifo", ["run", "{w}/pipe.crasp", "()"], "not a regular file"),
    ("compile-out-fifo", ["compile", "dyck1", "--N", "16", "--out", "{w}/pipe.npz"], "not a regular file"),
    ("comm-plot-fifo", ["comm-complexity", "copy", "--N", "4", "--plot", "{w}/pipe.png"], "not a regular file"),
    ("report-html-fifo", ["report", "--no-extra", "--html", "{w}/pipe.html"], "not a regular file"),
    ("report-trained-fifo", ["report", "--no-extra", "--trained", "{w}/pipe"], "not a regular file"),
    ("report-trained-huge", ["report", "--no-extra", "--trained", "{w}/huge.json"], "above the limit"),
    ("report-trained-deep", ["report", "--no-extra", "--trained", "{w}/deep.json"], "nested too deeply"),
    ("refute-spec-number", ["refute", T4, "--spec", "{w}/number.json"], "not a number"),
    ("refute-spec-null", ["refute", T4, "--spec", "{w}/null.json"], "not null"),
    ("refute-spec-unknown-counter-symbol", ["refute", T4, "--spec", "{w}/counter_z.json"], "'z'"),
    ("refute-spec-not-utf8", ["refute", T4, "--spec", "{w}/latin1.json"], "not utf-8"),
    ("refute-spec-regex-not-utf8", ["refute", T4, "--spec", "{w}/latin1.re"], "not utf-8"),
    ("refute-spec-deep", ["refute", T4, "--spec", "{w}/deep.json"], "nested too deeply"),
    ("refute-spec-huge", ["refute", T4, "--spec", "{w}/huge.json"], "above the limit"),
    ("refute-spec-fifo", ["refute", T4, "--spec", "{w}/pipe.json"], "not a regular file"),
    ("prove-spec-null", ["prove", T4, "--spec", "{w}/null.json"], "not null"),
    ("global-cases-file-exits", ["--cases", "{w}/exits.py", "cases"], "sys.exit"),
    ("comm-reference-without-alphabet", ["comm-complexity", "json:dumps", "--N", "4"], "--alphabet"),
    ("comm-alphabet-for-a-case", ["comm-complexity", "parity", "--N", "4", "--alphabet", "0,1"], "--alphabet"),
]

CLASSIFY_ROWS = [  # H6's command (a regular expression, a case, a .dfa or a .txt file)
    ("classify-bad-option", ["classify", "a*", "--nosuch-option"], "no such option"),
    ("classify-bad-regex", ["classify", "(("], "(("),
    ("classify-empty-target", ["classify", ""], "empty"),
    ("classify-missing-dfa", ["classify", "{w}/missing.dfa"], "missing.dfa"),
    ("classify-missing-txt", ["classify", "{w}/missing.txt"], "missing.txt"),
    ("classify-garbage-dfa", ["classify", "{w}/object.json"], "object.json"),
    ("classify-budget-nan", ["classify", "a*", "--budget", "nan"], "--budget"),
    ("classify-budget-inf", ["classify", "a*", "--budget", "inf"], "--budget"),
    ("classify-budget-negative", ["classify", "a*", "--budget", "-1"], "--budget"),
    ("classify-bad-acceptance", ["classify", "a*", "--acceptance", "bogus"], "--acceptance"),
    # issue 20: sizes before reading, paths never read as regular expressions, the alphabet capped
    ("classify-deep-dfa", ["classify", "{w}/deep.json"], "nested too deeply"),
    ("classify-huge-dfa", ["classify", "{w}/huge.dfa"], "above the limit"),
    ("classify-huge-json", ["classify", "{w}/huge.json"], "above the limit"),
    ("classify-huge-txt", ["classify", "{w}/huge.txt"], "above the limit"),
    ("classify-dfa-fifo", ["classify", "{w}/pipe.dfa"], "not a regular file"),
    ("classify-folder", ["classify", "{w}/adir"], "folder"),
    ("classify-device", ["classify", "/dev/null"], "not a regular file"),
    ("classify-fifo", ["classify", "{w}/pipe"], "not a regular file"),
    ("classify-wide-dfa", ["classify", "{w}/wide.dfa"], "at most 256"),
    ("classify-alphabet-20000", ["classify", "a*", "--alphabet", ",".join(f"s{i}" for i in range(20_000))],
     "at most 256"),
    ("classify-union-3000", ["classify", "|".join(chr(0x4E00 + i) for i in range(3000))], "at most 256"),
]


def _all_rows():
    rows = [pytest.param(*r, id=r[0]) for r in ROWS]
    rows += [pytest.param(*r, id=r[0], marks=pytest.mark.torch) for r in TORCH_ROWS]
    if "classify" in _commands():
        rows += [pytest.param(*r, id=r[0]) for r in CLASSIFY_ROWS]
    return [_mark_pending(p) for p in rows]


def _mark_pending(param):
    owner = PENDING.get(param.id)
    if owner is None:
        return param
    return pytest.param(*param.values, id=param.id,
                        marks=[*param.marks, pytest.mark.xfail(strict=True, reason=f"owned by {owner} (issue 9)")])


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder with the files the rows refer to; the SMT cache lives outside it."""
    w = tmp_path / "w"
    w.mkdir()
    (w / "adir").mkdir()
    (w / "full").mkdir()
    (w / "full" / "keep.txt").write_text("the user's file\n")
    (w / "afile.txt").write_text("not a program\n")
    (w / "empty.crasp").write_text("")
    (w / "binary.crasp").write_bytes(bytes(range(256)) * 4)
    (w / "object.json").write_text('{"not": "what is expected"}')
    row = '{"task": "parity", "encoding": "APE", "acc_0_50": 50.0, "train_fit": false'
    (w / "bad_spread.json").write_text("[" + row + ', "spread": {"acc_0_50": "wide"}}]')
    (w / "bad_acc.json").write_text('[{"task": "parity", "encoding": "APE", "acc_0_50": "high"}]')
    (w / "bad_threshold.json").write_text("[" + row + ', "threshold": NaN}]')
    for name in ("pipe", "pipe.crasp", "pipe.npz", "pipe.png", "pipe.html", "pipe.json", "pipe.dfa"):
        os.mkfifo(w / name)                         # nothing writes to these: a blocking open would hang
    for name in ("huge.json", "huge.dfa", "huge.txt"):
        with open(w / name, "wb") as f:
            f.truncate(2 << 30)                     # 2 GiB, sparse: costs no disk, must never be read
    (w / "deep.json").write_text("[" * 100_000)
    (w / "number.json").write_text("5")
    (w / "null.json").write_text("null")
    (w / "counter_z.json").write_text('{"alphabet": ["0", "1"], "always": [{"coeffs": {"z": 1}, "op": ">=", '
                                      '"bound": 0}], "final": []}')
    (w / "latin1.json").write_bytes(b'\xff\xfe{"alphabet": []}')
    (w / "latin1.re").write_bytes(b"(0|1)*\xe9")
    symbols = [f"s{i}" for i in range(300)]
    (w / "wide.dfa").write_text(json.dumps({"alphabet": symbols, "start": "q", "accepting": ["q"],
                                            "transitions": {"q": {a: "q" for a in symbols}}}))
    (w / "exits.py").write_text("import sys\nsys.exit(1)\n")
    (w / "notckpt.pt").write_bytes(b"\x80\x02.")
    (w / "ckfifo").mkdir()
    os.mkfifo(w / "ckfifo" / "config.json")
    (w / "ckfifo" / "model.safetensors").write_bytes(b"\x00" * 16)
    (w / "ckdeep").mkdir()
    (w / "ckdeep" / "config.json").write_text("[" * 100_000)
    (w / "ckdeep" / "model.safetensors").write_bytes(b"\x00" * 16)
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "cache" / "smt.json"))
    monkeypatch.delenv("LENGTHGEN_VERIFY_DEBUG", raising=False)
    monkeypatch.chdir(w)
    return w


def _snapshot(folder: Path):
    return sorted((str(p.relative_to(folder)), p.is_dir(), p.stat().st_size if p.is_file() else 0)
                  for p in folder.rglob("*"))


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang(f"no answer within {ROW_SECONDS} s")


@pytest.mark.parametrize("row_id, argv, needle", _all_rows())
def test_bad_input_exits_2_with_one_message(row_id, argv, needle, workdir, capsys):
    if argv[0] in ("train", "sweep", "audit"):
        pytest.importorskip("torch")
    args = [a.replace("{w}", str(workdir)) for a in argv]
    before = _snapshot(workdir)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(ROW_SECONDS)
    try:
        code = main(args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    message = err.strip()
    assert code == 2, f"exit {code}; stderr: {err[-2000:]}; stdout: {out[-500:]}"
    assert "Traceback" not in out + err
    assert "internal error" not in err
    assert message, "no message on stderr"
    assert len(message) < 1500 and len(message.splitlines()) <= 12, message
    assert needle.lower() in message.lower(), message
    assert _snapshot(workdir) == before, "files were left in the working folder"


def test_the_table_covers_every_command():
    covered = {r[1][0] for r in ROWS + TORCH_ROWS} | ({"classify"} if "classify" in _commands() else set())
    expected = {c.replace("_", "-") for c in _commands()}
    assert expected <= covered, expected - covered
    assert len(ROWS) + len(TORCH_ROWS) >= 150


# --- internal errors: exit 70, one line, traceback only on request

def _boom(*args, **kwargs):
    raise RuntimeError("injected failure\nsecond line")


@pytest.fixture
def broken_run(monkeypatch):
    import verify.crasp.interpreter as interp
    monkeypatch.setattr(interp, "straight_line", _boom)
    monkeypatch.delenv("LENGTHGEN_VERIFY_DEBUG", raising=False)


def test_an_internal_error_exits_70_with_one_line(broken_run, capsys):
    code = main(["run", DYCK, "()"])
    out, err = capsys.readouterr()
    assert code == 70
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "bug" in lines[0] and "RuntimeError: injected failure second line" in lines[0]
    assert "--debug" in lines[0] and "LENGTHGEN_VERIFY_DEBUG=1" in lines[0]
    assert "Traceback" not in err


def test_debug_flag_shows_the_traceback(broken_run, capsys):
    code = main(["--debug", "run", DYCK, "()"])
    _, err = capsys.readouterr()
    assert code == 70 and "Traceback (most recent call last)" in err and "_boom" in err


def test_debug_environment_variable_shows_the_traceback(broken_run, monkeypatch, capsys):
    monkeypatch.setenv("LENGTHGEN_VERIFY_DEBUG", "1")
    code = main(["run", DYCK, "()"])
    _, err = capsys.readouterr()
    assert code == 70 and "Traceback (most recent call last)" in err


def test_debug_does_not_change_a_normal_run(capsys):
    assert main(["--debug", "run", DYCK, "()"]) == 0
    assert "accepted" in capsys.readouterr().out


def test_a_usage_error_stays_exit_2(capsys):
    assert main(["run", DYCK, "()", "--offset", "1e5"]) == 2
    assert "--offset" in capsys.readouterr().err


def test_the_help_lists_the_exit_codes(capsys):
    main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "70 internal error" in out and "2 user error" in out and "3 unknown" in out


# --- the installed script: the same codes through a real process

SCRIPT = Path(sys.executable).parent / "verify"


@pytest.mark.parametrize("argv, code", [
    (["run", DYCK, "(x)"], 2),
    (["refute", "tomita4", "--timeout", "nan"], 2),
    (["run", DYCK], 2),
])
def test_the_script_exits_2_without_traceback(argv, code, tmp_path):
    proc = subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == code and "Traceback" not in proc.stderr, proc.stderr


def test_the_script_exits_70_on_an_internal_error(tmp_path):
    # a sitecustomize that breaks the interpreter: a real process, a real crash
    (tmp_path / "sitecustomize.py").write_text(
        "import verify.crasp.interpreter as i\n"
        "def boom(*a, **k):\n    raise ZeroDivisionError('planted')\n"
        "i.straight_line = boom\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("LENGTHGEN_VERIFY_DEBUG", None)
    proc = subprocess.run([str(SCRIPT), "run", DYCK, "()"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 70, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "ZeroDivisionError: planted" in proc.stderr
    proc = subprocess.run([str(SCRIPT), "--debug", "run", DYCK, "()"], capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 70 and "Traceback" in proc.stderr


# --- verify/limits.py: the guards the commands share

def test_range_and_finite_guards():
    from verify.limits import require_finite, require_finite_timeout, require_range
    from verify.problems import UserError
    assert require_range("--x", 5, 1, 10) == 5
    for bad in (0, 11):
        with pytest.raises(UserError, match=r"--x must be between 1 and 10 \(got"):
            require_range("--x", bad, 1, 10)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(UserError, match="--timeout must be a finite number"):
            require_finite_timeout("--timeout", bad)
    with pytest.raises(UserError, match="--timeout"):
        require_finite_timeout("--timeout", 0.0)
    with pytest.raises(UserError, match="greater than 0"):
        require_finite("--lr", 0.0, 0.0, strict_lo=True)
    assert require_finite_timeout("--timeout", 2.5) == 2.5


def test_the_memory_budget_and_its_override(monkeypatch):
    from verify.limits import MEMORY_ENV, memory_budget, parse_bytes, refuse_if_too_big
    from verify.problems import UserError
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert memory_budget() > 64 << 20
    assert parse_bytes("2G") == 2 << 30 and parse_bytes("512MiB") == 512 << 20 and parse_bytes("1000") == 1000
    for bad in ("x", "-1", "0", "inf", "nan", ""):
        with pytest.raises(UserError, match=MEMORY_ENV):
            parse_bytes(bad)
    monkeypatch.setenv(MEMORY_ENV, "1M")
    assert memory_budget() == 1 << 20
    refuse_if_too_big("--d", 1000, "lower --d")
    with pytest.raises(UserError, match=r"--d: .*about 2\.0 MiB.*budget of 1\.0 MiB.*lower --d"):
        refuse_if_too_big("--d", 2 << 20, "lower --d")


# --- issue 20: a closed standard output is not a verdict; a full disk is a user error

@pytest.mark.parametrize("argv", [["prove", "dyck1"], ["prove", "dyck1", "--json"], ["check", "dyck1"],
                                  ["run", DYCK, "(())", "--trace"]])
def test_a_closed_stdout_exits_141_never_with_a_verdict(argv, tmp_path):
    """`verify prove dyck1 | head -c1` used to exit 1 ("refuted"): the reader is gone before anything is
    written here (the pipe's read end is closed at once), so every write fails as it would after `head`."""
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run([str(SCRIPT), *argv], stdout=write, stderr=subprocess.PIPE, text=True, timeout=300,
                          cwd=tmp_path)
    os.close(write)
    assert proc.returncode == 141, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_a_full_disk_during_compile_out_safetensors_exits_2(tmp_path):
    """safetensors reports a failed write as its own error (exit 70 before). The disk is 'full' for this process
    through RLIMIT_FSIZE (EFBIG, like ENOSPC: an error of the disk, not of the toolkit)."""
    pytest.importorskip("safetensors")
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
            "from verify.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    for name in ("x.safetensors", "x.npz"):
        proc = subprocess.run([sys.executable, "-c", code, "compile", "dyck1", "--N", "64", "--out",
                               str(tmp_path / "out" / name)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert "--out" in proc.stderr and "nothing was written" in proc.stderr and "internal error" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
