"""`verify compile --out DIR`: T_N as a save_pretrained folder that transformers loads (trust_remote_code=True),
float64, with exactly the scores of torch_bridge.export and verify.limit.forward's outputs."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.torch

from torch_bridge.export import export  # noqa: E402
from verify import api  # noqa: E402
from verify.cli import main  # noqa: E402
from verify.limit.forward import forward  # noqa: E402
from verify.limit.io import load_finite  # noqa: E402
from verify.problems import UserError  # noqa: E402

transformers.logging.set_verbosity_error()


@pytest.mark.parametrize("dense", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_compile_out_folder_loads_in_transformers_with_the_same_outputs(tmp_path, capsys, dense):
    folder = tmp_path / "tomita4"
    code = main(["compile", "tomita4", "--N", "24", "--check-length", "2", "--out", str(folder),
                 *(["--dense"] if dense else []), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["out"] == str(folder)
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "compiled_forward.py",
                                                  "modeling_lengthgen_compiled.py"}
    hf = transformers.AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(hf).__name__ == "CompiledTransformerModel" and next(hf.parameters()).dtype == torch.float64
    finite = load_finite(str(folder / "model.safetensors"))   # the folder's weights are compile --out's file
    ids = np.random.default_rng(0).integers(0, len(finite.alphabet), (6, 24))
    with torch.no_grad():
        logits = hf(torch.as_tensor(ids)).logits
        assert torch.equal(logits, export(finite)(torch.as_tensor(ids)))     # the same float64 arithmetic
    reference = forward(finite, ids)
    assert np.abs(logits.numpy() - reference.scores).max() <= 1e-12
    accept = logits.numpy()[:, :, 0] > hf.config.threshold
    assert np.array_equal(accept, reference.outputs["accept"]) and hf.config.output_keys == ["accept"]


def test_compile_out_folder_is_a_new_folder_and_audit_points_at_the_weights(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    (tmp_path / "empty").mkdir()
    for there in ("full", "empty"):     # nothing that exists is replaced, not even an empty folder
        with pytest.raises(UserError, match="exists; a Hugging Face folder is written to a new path"):
            api.compile("tomita1", N=8, check_length=2, out=tmp_path / there)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine" and not any((tmp_path / "empty").iterdir())
    api.compile("tomita1", N=8, check_length=2, out=tmp_path / "t1")
    assert main(["audit", str(tmp_path / "t1")]) == 2
    assert "audit its weights file" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "t1" / "model.safetensors")]) == 0
