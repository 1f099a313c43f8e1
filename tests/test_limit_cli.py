"""`verify compile` and `verify conditions`."""
import json

import pytest

from verify.cli import main


def _write(tmp_path, text, name="p.crasp"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


DYCK = 'alphabet "(" ")"\nlet open = #["("]\nlet close = #[")"]\nlet dips = #[open < close]\naccept = dips == 0 and open == close\n'


@pytest.mark.slow
def test_compile_json_and_out(tmp_path, capsys):
    src = _write(tmp_path, DYCK)
    out = str(tmp_path / "t.npz")
    assert main(["compile", src, "--N", "64", "--out", out, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"] == 2 and data["period"] == 1 and data["radius"] == 0
    assert data["limit_transformer"]["status"] == "holds" and data["limit_transformer"]["every_length"]
    assert data["horizon"] is None and data["every_length"] and data["status_text"] == "holds for every length"
    assert data["float64"]["status"] == "holds" and data["float64"]["horizon"] > 10 ** 6
    assert data["finite"]["agreement"]["status"] == "holds"
    assert 16 * 64 in data["float64"]["evidence"]["checked_long_lengths"]
    # streamed far beyond 16·N toward the float64 horizon, at offsets 0, 7 and 1000003 (issue 11 §1)
    ev = data["float64"]["evidence"]
    assert max(ev["checked_long_lengths"]) >= 1 << 17 and max(ev["checked_long_lengths"]) <= data["float64"]["horizon"]
    assert {r["offset"] for r in ev["long_runs"]} == {0, 7, 1_000_003}
    assert (tmp_path / "t.npz").exists()


GUARDED = 'alphabet "0" "1"\naccept = #["0" @ 0,1,2] < 3\n'


@pytest.mark.slow
def test_compile_separates_limit_float_and_finite(tmp_path, capsys):
    src = _write(tmp_path, GUARDED)
    assert main(["compile", src, "--N", "64"]) == 0
    text = capsys.readouterr().out
    assert "HOLDS (a) Limit Transformer" in text and "every length (infinite context)" in text
    assert "sympy" in text and "(b) its float64 evaluation" in text and "(c) finite realization T_64" in text
    assert "1,024" in text                                  # checked at 16·N
    # fixed logits with a small λ: a finite, exact horizon — never a bare HOLDS
    assert main(["compile", src, "--N", "64", "--logit-scale", "none", "--hardness", "20", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    T = data["limit_transformer"]["exact_horizon"]
    assert data["limit_transformer"]["every_length"] is False and 100 < T < 1000
    # issue 20: the top level carries the horizon too, never a bare "holds" for a finite claim
    assert data["status"] == "holds" and data["horizon"] == T and data["every_length"] is False
    assert data["status_text"] == f"holds up to {T}"
    assert data["float64"]["horizon"] <= T and max(data["float64"]["evidence"]["checked_long_lengths"]) <= T
    assert main(["compile", src, "--N", "64", "--logit-scale", "none", "--hardness", "20"]) == 0
    assert f"HOLDS up to {T:,} (a)" in capsys.readouterr().out


def test_compile_exit_codes(tmp_path, capsys):
    src = _write(tmp_path, GUARDED)
    # λ too small: the model is wrong at length 3 — refuted (1), with the input
    assert main(["compile", src, "--N", "64", "--hardness", "2"]) == 1
    text = capsys.readouterr().out
    assert "REFUTED (a)" in text and "counterexample: 0 0 0 at position 3" in text
    # λ = 4: the model works on every checked input, but nothing proves it: unknown (3), with the reason
    assert main(["compile", src, "--N", "64", "--hardness", "4"]) == 3
    text = capsys.readouterr().out
    assert "leak bound does not hold" in text and "REFUTED" not in text


@pytest.mark.parametrize("args,needle", [
    (["--N", "0"], "--N"),
    (["--N", "100000000000"], "--N"),
    (["--logit-scale", "cubic"], "--logit-scale"),
    (["--comparison", "sigmoid"], "--comparison"),
    (["--slope", "nan"], "--slope"),
    (["--hardness", "5000"], "--hardness"),
    (["--check-length", "40"], "--check-length"),
    (["--dense"], "--dense"),
    (["--out", "x.txt"], "--out"),
    (["--long-seconds", "-1"], "--long-seconds"),
    (["--long-seconds", "nan"], "--long-seconds"),
])
def test_compile_bad_input(tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    src = _write(tmp_path, GUARDED)
    assert main(["compile", src, *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.crasp"]


def test_compile_context_too_small_writes_nothing(tmp_path, capsys):
    src = _write(tmp_path, 'alphabet "a"\naccept = #["a" @ 5] == 1\n')
    out = tmp_path / "t.npz"
    assert main(["compile", src, "--N", "3", "--out", str(out)]) == 2
    assert "radius" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "p.crasp"]


def test_conditions_command(capsys):
    assert main(["conditions", "onehot", "--period", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["periodic"]["value"] == "4"      # LOCAL's labels are issue 11 §2's (verify conditions' owner)
    assert main(["conditions", "sinusoidl"]) == 2
    assert "did you mean sinusoidal" in capsys.readouterr().err


@pytest.mark.slow
def test_compile_out_creates_a_missing_folder(tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "dyck1.npz"
    assert main(["compile", "dyck1", "--N", "16", "--out", str(out)]) == 0
    assert out.is_file()


def test_compile_with_a_case_says_whether_the_program_is_right(tmp_path, capsys, monkeypatch):
    """Theorem 9 is about the program; with a case, compile also says whether the program computes the task:
    refuted for a wrong program (exit 1, the counterexample), checked without a proof, proved with --prove, and
    proved again from the proof cache (keyed by the program's content) without --prove."""
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "cache.json"))
    assert main(["compile", "examples/tomita3_wrong.crasp", "--case", "tomita3", "--N", "16", "--check-length", "2",
                 "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "holds"                               # the Limit Transformer computes the program
    task = data["task"]
    assert task["case"] == "tomita3" and task["status"] == "refuted"
    assert task["check"]["counterexample"]["input"] == ["1", "0"]
    assert main(["compile", "examples/tomita3_wrong.crasp", "--case", "tomita3", "--N", "16", "--check-length",
                 "2"]) == 1
    assert "which is wrong for this task" in " ".join(capsys.readouterr().out.split())
    for args, status in (([], "checked"), (["--prove"], "proved"), ([], "proved")):
        assert main(["compile", "tomita4", "--N", "16", "--check-length", "2", "--json", *args]) == 0
        task = json.loads(capsys.readouterr().out)["task"]
        assert task["status"] == status, (args, task["summary"])
    assert "proof cache" in task["summary"]
    assert main(["compile", "examples/tomita4.crasp", "--N", "16", "--prove"]) == 2     # no task to prove against
    assert "--case" in capsys.readouterr().err
