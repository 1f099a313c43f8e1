"""docs/tutorial.md stays true: its blocks run in order in an empty folder. ```lang file=NAME blocks are
written to NAME; in ```console blocks every `$ verify ...` line runs (in-process, verify.cli.main) and must
exit as its `# exit N` comment says (0 without one), and every output line shown under it must appear in
what it printed (whitespace folded); `$ export NAME=VALUE` sets the variable ($PWD: the folder); ```python
blocks run as doctests. ```console torch blocks need torch and run in the torch test. The memory budget is
lowered so `verify compile` checks shorter long lengths (the lines shown do not depend on it)."""
import doctest
import re
import shlex
from pathlib import Path

import pytest

from verify import catalogue
from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.M | re.S)


def blocks():
    return [(lang, info.strip(), body) for lang, info, body in BLOCK.findall(TUTORIAL.read_text())]


def commands(body):
    """[(command line, [expected output lines])] of a console block."""
    out = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif line.strip() and line.strip() != "…" and out:
            out[-1][1].append(line.strip())
    return out


def fold(text):
    return " ".join(text.split())


def run_command(line, folder, monkeypatch, capsys):
    if line.startswith("export "):
        name, _, value = line[len("export "):].partition("=")
        monkeypatch.setenv(name, value.replace("$PWD", str(folder)))
        return ""
    expected_exit = int(m.group(1)) if (m := re.search(r"#\s*exit (\d+)", line)) else 0
    args = shlex.split(line, comments=True)
    assert args[0] == "verify", line
    capsys.readouterr()
    code = main(args[1:])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert code == expected_exit, f"{line}: exit {code}, expected {expected_exit}\n{printed}"
    return printed


def run_python(body, folder):
    test = doctest.DocTestParser().get_doctest(body, {}, "tutorial", str(TUTORIAL), 0)
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def run_tutorial(folder, monkeypatch, capsys, torch: bool):
    monkeypatch.chdir(folder)
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(folder / "smt-cache.json"))
    monkeypatch.setenv("LENGTHGEN_VERIFY_MEMORY", "256M")
    monkeypatch.delenv(catalogue.CASES_ENV, raising=False)
    ran = 0
    try:
        for lang, info, body in blocks():
            if "file=" in info:
                (folder / info.split("file=")[1].split()[0]).write_text(body)
            elif lang == "console":
                torch_block = "torch" in info.split()
                if torch_block and not torch:
                    continue
                for line, shown in commands(body):
                    # the torch test runs what the torch blocks need: the export and the compile
                    if torch and not torch_block and not line.startswith(("export", "verify compile")):
                        continue
                    printed = fold(run_command(line, folder, monkeypatch, capsys))
                    for expected in shown:
                        assert fold(expected) in printed, f"{line}: {expected!r} not in\n{printed}"
                    ran += 1
            elif lang == "python" and not torch:
                run_python(body, folder)
                ran += 1
    finally:
        catalogue.forget_added_cases()
    return ran


def test_the_tutorial_blocks_are_well_formed():
    kinds = [(lang, info) for lang, info, _ in blocks()]
    assert ("python", "file=my_tasks.py") in kinds and ("console", "torch") in kinds
    lines = [line for lang, _, body in blocks() if lang == "console" for line, _ in commands(body)]
    for step in ("check", "refute", "prove", "compile", "classify", "comm-complexity", "train", "audit"):
        assert any(line.startswith(f"verify {step} ") for line in lines), step


@pytest.mark.slow
def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    assert run_tutorial(tmp_path, monkeypatch, capsys, torch=False) >= 10


@pytest.mark.slow
@pytest.mark.torch
def test_the_tutorials_training_and_audit_run(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    assert run_tutorial(tmp_path, monkeypatch, capsys, torch=True) >= 4
