"""The `verify` command as a user meets it: exit codes, messages, no tracebacks, --json."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_run_accepts_and_traces(capsys):
    code, out, _ = run(["run", str(EX / "dyck1.crasp"), "(()())", "--json", "--trace"], capsys)
    data = json.loads(out)
    assert code == 0 and data["accepted"] is True
    assert data["trace"]["open"] == [1, 2, 2, 3, 3, 3]


def test_run_generates_for_sequence_programs(capsys):
    code, out, _ = run(["run", str(EX / "bin_majority.crasp"), "<bos> 1 0 1 <sep>", "--json"], capsys)
    assert code == 0 and json.loads(out)["generated"] == ["1", "<eos>"]


def test_run_wraps_a_bare_task_input(capsys):
    code, out, _ = run(["run", "bin_majority", "0 0 1", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["generated"] == ["0", "<eos>"] and data["correct"] is True


@pytest.mark.parametrize("args, needle", [
    (["run", str(EX / "bad_guard.crasp"), "ab"], "bad_guard.crasp:3:17"),
    (["run", str(EX / "dyck1.crasp"), "(x)"], "does not start with a symbol"),
    (["run", str(EX / "dyck1.crasp"), ""], "empty input"),
    (["run", "dyck", "()"], "did you mean"),
    (["run", "missing.crasp", "()"], "no such program file"),
    (["check", "dyck1", "--max-len", "60"], "past the budget"),
    (["check", str(EX / "dyck1.crasp")], "--case"),
])
def test_user_mistakes_exit_2_with_one_message(args, needle, capsys):
    code, out, err = run(args, capsys)
    assert code == 2 and needle in err, err


def test_check_refutes_with_exit_1_and_a_counterexample(capsys):
    code, out, _ = run(["check", str(EX / "tomita3_wrong.crasp"), "--case", "tomita3", "--json",
                        "--samples", "100"], capsys)
    data = json.loads(out)["results"][0]
    assert code == 1 and data["status"] == "refuted" and data["counterexample"]["input"]


def test_check_a_file_against_a_case(capsys):
    code, out, _ = run(["check", str(EX / "tomita4.crasp"), "--case", "tomita4", "--samples", "100"], capsys)
    assert code == 0 and "HOLDS" in out


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "verify"
    proc = subprocess.run([str(exe), "run", str(EX / "aa_star.crasp"), "aaaa", "--json"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["accepted"] is True


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lengthgen-verify {version('lengthgen-verify')}"


def test_shell_completion_is_offered(capsys):
    assert main(["--help"]) == 0
    assert "--install-completion" in capsys.readouterr().out


def test_huge_exact_values_print_in_json_traces(tmp_path, capsys):
    """Chained scalings make values with thousands of digits; they print exactly, not crash."""
    lines = ['alphabet "a"', 'let c0 = #["a"]']
    lines += [f"let c{i} = {10 ** 35} * c{i - 1}" for i in range(1, 200)]
    lines += ["accept = c199 > 0"]
    src = tmp_path / "big.crasp"
    src.write_text("\n".join(lines) + "\n")
    assert main(["run", str(src), "a a", "--json", "--trace"]) == 0
    out = capsys.readouterr().out
    assert str(2 * 10 ** (35 * 199)) in out
