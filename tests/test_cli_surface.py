"""The command line's surface (issue 20): -h beside --help, one summary style in the command list, the same
--json help everywhere, no empty line at the top of piped output, and Ctrl-C / SIGTERM ending in one line
with no worker process left and no leaked semaphore."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from verify.cli import JSON_HELP, SUMMARIES, _register_commands, app, main

ROOT = Path(__file__).resolve().parents[1]
VERIFY = Path(sys.executable).parent / "verify"


def command_names():
    _register_commands()
    return [(c.name or c.callback.__name__).replace("_", "-") for c in app.registered_commands]


def help_text(capsys, *args):
    assert main([*args]) == 0
    return capsys.readouterr().out


def test_h_is_help_for_verify_and_every_command(capsys):
    assert help_text(capsys, "-h") == help_text(capsys, "--help")
    for name in command_names():
        short = help_text(capsys, name, "-h")
        assert re.match(rf"Usage: .* {name} \[OPTIONS\]", short) and short == help_text(capsys, name, "--help")


def test_the_command_list_has_one_summary_style(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    names = command_names()
    assert set(SUMMARIES) == set(names)
    listing = help_text(capsys, "--help").split("Commands:\n", 1)[1].splitlines()
    lines = {line.split()[0]: line for line in listing if line.strip()}
    for name in names:
        summary = SUMMARIES[name]
        assert re.fullmatch(r"[A-Z][a-z]+ [^.]*[^. ]", summary), summary   # a verb first, no final period
        assert lines[name].split(None, 1)[1] == summary and len(lines[name]) <= 80, lines[name]   # one whole line
    assert len(lines) == len(names)


def test_every_json_option_says_the_same_and_names_an_existing_schema(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    for name in command_names():
        text = " ".join(help_text(capsys, name, "-h").split())
        assert " ".join(JSON_HELP.format(name=name).split()) in text, name
        assert (ROOT / "docs" / "schemas" / f"{name}.schema.json").is_file()


@pytest.mark.parametrize("args", [["check", "tomita4", "--max-len", "4", "--samples", "5"], ["mutate", "tomita1"],
                                  ["compile", "tomita1", "--N", "8", "--check-length", "2", "--long-seconds", "0"]])
def test_piped_output_starts_with_its_first_line_not_an_empty_one(args, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "cache.json"))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.strip() and out.lstrip(" ")[0] != "\n", out[:200]   # (a table's centred title starts with spaces)


def test_an_interrupt_inside_a_command_is_one_line_and_exit_130(capsys, monkeypatch):
    import verify.catalogue

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(verify.catalogue, "all_cases", interrupted)
    assert main(["cases"]) == 130          # typer turns it into a silent exit 130; main says why
    out, err = capsys.readouterr()
    assert err == "interrupted\n" and out == ""


POOL_SCRIPT = textwrap.dedent("""
    import sys, time
    from verify.processes import process_pool, signals_raise

    def nap(x):
        time.sleep(60)
        return x

    if __name__ == "__main__":
        try:
            with signals_raise() as received:
                with process_pool(2, max_tasks_per_child=1) as pool:
                    futures = [pool.submit(nap, i) for i in range(4)]
                    print("submitted", flush=True)
                    for f in futures:
                        f.result()
        except KeyboardInterrupt:
            print("stopped by", received, file=sys.stderr)
            sys.exit(130)
""")


def _alive_in_group(pgid):
    rows = subprocess.run(["ps", "-eo", "pgid=,stat=,pid=,args="], capture_output=True, text=True).stdout.splitlines()
    return [r for r in rows if r.split()[0] == str(pgid) and not r.split()[1].startswith("Z")]


def _signalled(argv, sig, *, group, ready, cache, timeout=120):
    """Start argv in a session of its own, wait until `ready(process)`, send `sig` to its whole group (as a
    terminal's Ctrl-C does) or to it alone; (exit code, stderr, processes of the group still alive)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LENGTHGEN_VERIFY_CACHE=str(cache))
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                               start_new_session=True)
    try:
        ready(process)
        (os.killpg if group else os.kill)(process.pid, sig)
        _, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    deadline = time.time() + 10
    while _alive_in_group(process.pid) and time.time() < deadline:
        time.sleep(0.2)
    return process.returncode, err, _alive_in_group(process.pid)


@pytest.mark.parametrize("delay", [0.0, 1.0])
def test_ctrl_c_stops_a_process_pool_and_its_workers_in_one_line(tmp_path, delay):
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)

    def ready(process):   # workers are starting (delay 0) or running (delay 1)
        assert process.stdout.readline().strip() == "submitted"
        time.sleep(delay)
    code, err, alive = _signalled([sys.executable, str(script)], signal.SIGINT, group=True, ready=ready,
                                  cache=tmp_path / "cache.json")
    assert (code, err, alive) == (130, f"stopped by [{int(signal.SIGINT)}]\n", [])


def _workers_started(process, count=1, timeout=90):
    """Wait until `process` has `count` child python processes besides multiprocessing's resource tracker."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(process.pid)], capture_output=True,
                              text=True).stdout.splitlines()
        if sum("resource_tracker" not in r for r in rows) >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError("no worker process started")


@pytest.mark.parametrize("sig, group, code, line", [(signal.SIGINT, True, 130, "interrupted"),
                                                     (signal.SIGTERM, False, 143, "terminated (SIGTERM)")])
def test_report_prove_interrupted_leaves_nothing_behind(sig, group, code, line, tmp_path):
    """`verify report --prove --no-certificates` searches for proofs in worker processes; Ctrl-C (to the whole
    group) or SIGTERM (to verify alone) ends it with one line: no traceback, no worker left, no resource-tracker
    warning."""
    got, err, alive = _signalled([str(VERIFY), "report", "--prove", "--no-cache", "--no-certificates", "--samples",
                                  "5", "--budget", "64"],
                                 sig, group=group, ready=_workers_started, cache=tmp_path / "cache.json")
    assert (got, err, alive) == (code, line + "\n", [])


@pytest.mark.slow
@pytest.mark.torch
def test_an_interrupted_sweep_logs_nothing_and_leaves_nothing(tmp_path):
    """`sweep --workers 2` trains in worker processes; Ctrl-C stops them: one line, exit 130, no run logged as
    failed (the runs were not lost, they were stopped), and the folder the sweep created is gone again."""
    pytest.importorskip("torch")
    out = tmp_path / "sweep"
    args = [str(VERIFY), "sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3",
            "--steps", "100000", "--seeds", "2", "--pe", "ape", "--eval-samples", "10", "--workers", "2",
            "--out", str(out), "--yes"]
    got, err, alive = _signalled(args, signal.SIGINT, group=True, cache=tmp_path / "cache.json",
                                 ready=lambda process: (_workers_started(process, 2), time.sleep(3)))
    assert (got, err, alive) == (130, "interrupted\n", []) and not out.exists()
