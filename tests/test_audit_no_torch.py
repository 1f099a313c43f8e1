"""`verify audit` of safetensors reads them with numpy: torch is never imported (its import alone costs ~1.5 s and
~240 MB), and the numbers are those the torch reader gives. Pickles still need torch and say how to get it."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("safetensors")
from safetensors.numpy import save_file  # noqa: E402

from torch_bridge.checkpoint import expected_shapes, load_checkpoint  # noqa: E402
from torch_bridge.config import GPT2Config  # noqa: E402
from verify.problems import UserError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CFG = GPT2Config(vocab_size=5, n_positions=24, n_embd=8, n_layer=2, n_head=2)

# Runs `verify audit ARGS` with every import of torch refused and recorded; prints the exit code and the
# torch imports attempted (an attempt is an import wherever torch is installed).
_NO_TORCH = """
import json, sys
sys.path.insert(0, {root!r})
tried = []
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            tried.append(name)
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
from verify.cli import main
code = main({args!r})
print(json.dumps({{"code": code, "tried": tried, "loaded": "torch" in sys.modules}}), file=sys.stderr)
"""


def no_torch(*args):
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH.format(root=str(ROOT), args=["audit", *map(str, args)])],
                          capture_output=True, text=True, cwd=ROOT)
    *err, last = proc.stderr.strip().splitlines()
    return json.loads(last), proc.stdout, "\n".join(err)


def weights(cfg=CFG, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (np.ones(s) if k.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")) else
                rng.normal(scale=0.3, size=s)).astype(np.float32) for k, s in expected_shapes(cfg).items()}


def hf_folder(path: Path, state) -> Path:
    path.mkdir()
    (path / "config.json").write_text(json.dumps(CFG.to_json()))
    save_file(state, str(path / "model.safetensors"))
    return path


def bf16_file(path: Path, state) -> None:
    """A safetensors file of bfloat16 tensors (safetensors.numpy cannot write them): the header, then each
    tensor's high 16 bits."""
    header, blobs, at = {}, [], 0
    for k, v in state.items():
        b = (np.ascontiguousarray(v, np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
        header[k] = {"dtype": "BF16", "shape": list(v.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(len(head).to_bytes(8, "little") + head + b"".join(blobs))


def truncated_to_bf16(state):
    return {k: (v.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32) for k, v in state.items()}


def test_a_safetensors_folder_is_audited_without_importing_torch(tmp_path):
    ck = hf_folder(tmp_path / "ck", weights())
    got, out, err = no_torch(ck, "--json")
    assert got == {"code": got["code"], "tried": [], "loaded": False} and got["code"] in (0, 1, 3), err
    report = json.loads(out)
    assert report["shape"]["file_format"] == "safetensors" and len(report["heads"]) == CFG.n_layer * CFG.n_head
    plots, _, err = no_torch(ck, "--plot", tmp_path / "plots")         # heatmaps are matplotlib (Agg), not torch
    assert plots["tried"] == [] and sorted(p.name for p in (tmp_path / "plots").iterdir()), err


def test_the_state_is_float32_numpy_and_equals_the_file(tmp_path):
    state = weights()
    ck = load_checkpoint(hf_folder(tmp_path / "ck", state))
    assert set(ck.state) == set(state) and all(type(v) is np.ndarray and v.dtype == np.float32
                                               for v in ck.state.values())
    assert all(np.array_equal(ck.state[k], state[k]) for k in state)
    assert np.array_equal(ck.c_attn(1), state["transformer.h.1.attn.c_attn.weight"])


@pytest.mark.slow
def test_bfloat16_is_widened_exactly_without_torch(tmp_path):
    state = weights(seed=1)
    bf16_file(tmp_path / "w.safetensors", state)
    ck = load_checkpoint(tmp_path / "w.safetensors", n_head=2)
    exact = truncated_to_bf16(state)
    assert all(ck.state[k].dtype == np.float32 and np.array_equal(ck.state[k], exact[k]) for k in state)
    assert not all(np.array_equal(ck.state[k], state[k]) for k in state)   # the truncation is real: the test can fail
    save_file(exact, str(tmp_path / "f32.safetensors"))
    a, out_bf16, err = no_torch(tmp_path / "w.safetensors", "--heads", "2", "--json")
    b, out_f32, _ = no_torch(tmp_path / "f32.safetensors", "--heads", "2", "--json")
    assert a["tried"] == [] and a["code"] == b["code"], err
    strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "source"}  # noqa: E731
    assert strip(out_bf16) == strip(out_f32)


@pytest.mark.slow
def test_a_compiled_table_is_audited_without_torch(tmp_path):
    from verify import api
    api.compile("tomita1", N=16, check_length=2, out=tmp_path / "t16.npz", check_memory=1 << 22)
    got, out, err = no_torch(tmp_path / "t16.npz", "--json")
    assert got == {"code": 0, "tried": [], "loaded": False}, err
    assert json.loads(out)["verdict"] == "periodic+local"


def test_a_pickle_without_torch_says_how_to_get_it(tmp_path):
    (tmp_path / "w.pt").write_bytes(b"\x80\x02}q\x00.")               # a pickle's protocol byte: torch reads it
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pytorch_model.bin").write_bytes(b"PK\x03\x04" + bytes(60))
    for path in (tmp_path / "w.pt", tmp_path / "bin"):
        got, out, err = no_torch(path)
        assert got["code"] == 2 and "pip install 'lengthgen-verify[torch]'" in err and "Traceback" not in err, err
        assert out == ""


def test_a_corrupt_bfloat16_file_is_a_user_error(tmp_path):
    bf16_file(tmp_path / "w.safetensors", weights())
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-10])
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "cut.safetensors", n_head=2)
    got, out, err = no_torch(tmp_path / "cut.safetensors", "--heads", "2")
    assert got["code"] == 2 and "corrupt or truncated" in err and "Traceback" not in err and got["tried"] == []


# ------------------------------------------------------------------ with torch: the same numbers both ways
@pytest.mark.torch
def test_pickle_and_safetensors_give_the_same_state_and_report(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from verify.cli import main
    state = weights(seed=2)
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, tmp_path / "w.pt")
    a = load_checkpoint(tmp_path / "w.safetensors", n_head=2)
    b = load_checkpoint(tmp_path / "w.pt", n_head=2)
    assert b.file_format.startswith("pickle") and all(type(v) is np.ndarray for v in b.state.values())
    assert all(np.array_equal(a.state[k], b.state[k]) for k in state)
    reports = []
    for name in ("w.safetensors", "w.pt"):
        main(["audit", str(tmp_path / name), "--heads", "2", "--json"])
        reports.append({k: v for k, v in json.loads(capsys.readouterr().out).items() if k not in ("source", "shape")})
    assert reports[0] == reports[1]


@pytest.mark.torch
def test_transformer_lens_safetensors_are_read_without_torch_and_pickles_with_it(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as save_torch
    from torch_bridge.model import GPT2
    from torch_bridge.transformer_lens import from_gpt2
    torch.manual_seed(0)
    m = GPT2(CFG).eval()
    tl = {k: v.contiguous() for k, v in from_gpt2(m.state_dict(), CFG.n_head).items()}
    save_torch(tl, str(tmp_path / "tl.safetensors"))
    torch.save(tl, tmp_path / "tl.pth")
    got, out, err = no_torch(tmp_path / "tl.safetensors", "--json")
    assert got["tried"] == [] and got["code"] in (0, 1, 3), err     # a verdict: the README's codes
    assert "TransformerLens" in json.loads(out)["shape"]["file_format"]
    a, b = load_checkpoint(tmp_path / "tl.safetensors"), load_checkpoint(tmp_path / "tl.pth")
    assert all(np.array_equal(a.state[k], b.state[k]) for k in a.state) and set(a.state) == set(b.state)
    assert np.array_equal(a.c_attn(0), m.transformer.h[0].attn.c_attn.weight.detach().numpy())
    assert torch.equal(a.model()(torch.tensor([[0, 1, 2, 3]])), m(torch.tensor([[0, 1, 2, 3]])))


@pytest.mark.slow
@pytest.mark.torch
def test_float8_safetensors_are_read_through_torch(tmp_path):
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("this torch has no float8")
    from safetensors.torch import save_file as save_torch
    state = {k: torch.from_numpy(v).to(torch.float8_e4m3fn) for k, v in weights(seed=3).items()}
    save_torch(state, str(tmp_path / "w.safetensors"))
    ck = load_checkpoint(tmp_path / "w.safetensors", n_head=2)
    assert all(np.array_equal(ck.state[k], state[k].float().numpy()) for k in state)
    got, _, err = no_torch(tmp_path / "w.safetensors", "--heads", "2")
    assert got["code"] == 2 and "F8_E4M3" in err and "pip install 'lengthgen-verify[torch]'" in err, err


@pytest.mark.torch
def test_the_config_check_knows_every_activation_the_model_has():
    pytest.importorskip("torch")
    import inspect
    from torch_bridge.config import config_problems
    from torch_bridge.model import _ACTIVATIONS
    assert inspect.signature(config_problems).parameters["activations"].default == tuple(_ACTIVATIONS)
