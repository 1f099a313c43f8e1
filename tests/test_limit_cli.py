"""`verify compile` and `verify conditions`."""
import json

from verify.cli import main


def _write(tmp_path, text, name="p.crasp"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


DYCK = 'alphabet "(" ")"\nlet open = #["("]\nlet close = #[")"]\nlet dips = #[open < close]\naccept = dips == 0 and open == close\n'


def test_compile_json_and_out(tmp_path, capsys):
    src = _write(tmp_path, DYCK)
    out = str(tmp_path / "t.npz")
    assert main(["compile", src, "--N", "64", "--out", out, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"] == 2 and data["period"] == 1 and data["radius"] == 0
    assert data["limit_transformer"]["status"] == "holds"
    assert data["finite"]["agreement"]["status"] == "holds"
    assert (tmp_path / "t.npz").exists()


def test_compile_context_too_small_writes_nothing(tmp_path, capsys):
    src = _write(tmp_path, 'alphabet "a"\naccept = #["a" @ 5] == 1\n')
    out = tmp_path / "t.npz"
    assert main(["compile", src, "--N", "3", "--out", str(out)]) == 2
    assert "radius" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "p.crasp"]


def test_conditions_command(capsys):
    assert main(["conditions", "onehot", "--period", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["periodic"]["value"] == "4" and data["local"]["status"] == "fails"
    assert main(["conditions", "sinusoidl"]) == 2
    assert "did you mean sinusoidal" in capsys.readouterr().err


def test_compile_out_creates_a_missing_folder(tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "dyck1.npz"
    assert main(["compile", "dyck1", "--N", "16", "--out", str(out)]) == 0
    assert out.is_file()
