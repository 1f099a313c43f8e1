"""Keeps the README true: every `verify ...` line in its code blocks runs without a user error or
a traceback (exit 0, or 1 where the example is a refutation)."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERIFY = Path(sys.executable).parent / "verify"


def readme_commands():
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("   #")[0].strip()
            if line.startswith("verify "):
                commands.append(line)
    return commands


def test_the_readme_has_examples_for_every_command():
    listed = {c.split()[1] for c in readme_commands()}
    from verify.cli import _register_commands, app
    _register_commands()
    names = {(cmd.name or cmd.callback.__name__).replace("_", "-") for cmd in app.registered_commands}
    assert names <= listed, names - listed


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command):
    args = shlex.split(command)[1:]
    if args[0] in ("train", "sweep", "audit"):
        pytest.importorskip("torch")
    if args[0] == "audit" and args[1].startswith("out/"):  # needs the checkpoint the README's train line writes
        subprocess.run([str(VERIFY), "train", "bin_majority", "--layers", "1", "--heads", "1", "--d", "16",
                        "--steps", "50", "--eval-samples", "20", "--out", args[1]], cwd=ROOT, capture_output=True,
                       timeout=300)
    if args[0] in ("train", "sweep") and "--out" in args:  # they refuse to overwrite a run
        import shutil
        shutil.rmtree(ROOT / args[args.index("--out") + 1], ignore_errors=True)
    proc = subprocess.run([str(VERIFY), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    expected = {1} if args[0] == "refute" or "_wrong" in command else {0}  # the refutation examples
    if args[0] == "audit":   # a verdict either way: the conditions (0/1), or with --task the prediction (0/1/3)
        expected = {0, 1, 3} if "--task" in args else {0, 1}
    assert proc.returncode in expected, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
