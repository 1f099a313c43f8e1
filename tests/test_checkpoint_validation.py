"""Malicious and malformed checkpoints: config types and ranges, names, shapes, non-finite weights,
absurd layer indices — each a user error (exit 2, one message, no traceback), never a verdict."""
import json

import numpy as np
import pytest

from verify.cli import main

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch_bridge.audit import audit_heads  # noqa: E402
from torch_bridge.checkpoint import load_checkpoint, save_pretrained  # noqa: E402
from torch_bridge.config import GPT2Config  # noqa: E402
from torch_bridge.model import GPT2  # noqa: E402
from verify.problems import UserError  # noqa: E402

CFG = GPT2Config(vocab_size=5, n_positions=8, n_embd=4, n_layer=1, n_head=2)


def state(cfg=CFG):
    torch.manual_seed(0)
    return {k: v.clone() for k, v in GPT2(cfg).state_dict().items()}


def folder(tmp_path, name="ck", cfg=CFG):
    torch.manual_seed(0)
    return save_pretrained(GPT2(cfg), tmp_path / name)


def audit(args, capsys):
    code = main(["audit"] + [str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def refused(args, capsys, *words):
    code, out, err = audit(args, capsys)
    assert code == 2, (code, out, err)
    assert "verdict" not in out + err
    for w in words:
        assert w in err, err
    return err


def edit_config(path, **changes):
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(changes)
    (path / "config.json").write_text(json.dumps(cfg))


# ------------------------------------------------------------------ config.json
@pytest.mark.parametrize("value, words", [
    (-1, "n_head = -1 is out of range"),
    (0, "n_head = 0 is out of range"),
    ("2", "n_head must be an integer, not str"),
    (2.0, "n_head must be an integer, not float"),
    (True, "n_head must be an integer, not bool"),
    (None, "n_head must be an integer"),
    (3, "not divisible by n_head = 3"),
    (10 ** 9, "out of range"),
])
def test_config_n_head_is_an_integer_in_range(tmp_path, capsys, value, words):
    ck = folder(tmp_path)
    edit_config(ck, n_head=value)
    refused([ck], capsys, "config.json", words)


@pytest.mark.parametrize("changes, words", [
    ({"n_layer": "1"}, "n_layer must be an integer"),
    ({"n_layer": 3}, "n_layer=3"),
    ({"n_embd": 8}, "n_embd=8"),
    ({"vocab_size": 6}, "vocab_size=6"),
    ({"n_positions": 0}, "n_positions = 0 is out of range"),
    ({"n_positions": 9}, "n_positions=9"),
    ({"n_inner": 2.5}, "n_inner must be an integer"),
    ({"layer_norm_epsilon": float("nan")}, "layer_norm_epsilon"),
    ({"layer_norm_epsilon": -1}, "layer_norm_epsilon"),
    ({"activation_function": "swish"}, "activation_function 'swish'"),
    ({"position_encoding": "rope"}, "position_encoding 'rope'"),
    ({"head": 3}, "head 3"),
    ({"tokens": [1, 2]}, "tokens must be a list of strings"),
    ({"regularizer_lambda": "0.1"}, "regularizer_lambda"),
])
def test_other_config_values_are_checked(tmp_path, capsys, changes, words):
    ck = folder(tmp_path)
    edit_config(ck, **changes)
    refused([ck], capsys, words)


@pytest.mark.parametrize("heads", ["0", "-1"])
def test_heads_flag_is_checked(tmp_path, capsys, heads):
    torch.save(state(), tmp_path / "raw.pt")
    refused([tmp_path / "raw.pt", "--heads", heads], capsys, "--heads")


# ------------------------------------------------------------------ names and shapes
def test_integer_keys_are_refused(tmp_path, capsys):
    sd = state()
    sd[1] = torch.zeros(2)
    torch.save(sd, tmp_path / "ints.pt")
    refused([tmp_path / "ints.pt", "--heads", "2"], capsys, "names must be strings", "1")


@pytest.mark.parametrize("fmt", ["safetensors", "pickle"])
def test_an_absurd_layer_index_is_refused_before_anything_is_sized(tmp_path, capsys, fmt, monkeypatch):
    """A few kB naming transformer.h.999999999 once made the loader size a billion layers (6 GiB)."""
    import torch_bridge.checkpoint as checkpoint
    monkeypatch.setattr(checkpoint, "expected_shapes", lambda cfg: pytest.fail("sized from the names"))
    sd = {"transformer.wte.weight": torch.zeros(5, 4), "transformer.h.999999999.attn.c_attn.weight": torch.zeros(4, 12)}
    path = tmp_path / f"big.{'safetensors' if fmt == 'safetensors' else 'pt'}"
    if fmt == "safetensors":
        from safetensors.torch import save_file
        save_file(sd, str(path))
    else:
        torch.save(sd, path)
    assert path.stat().st_size < 8000
    refused([path, "--heads", "2"], capsys, "transformer.h.999999999", "layer 999999999")


@pytest.mark.parametrize("key, tensor, words", [
    ("transformer.wte.weight", torch.zeros(20), "transformer.wte.weight"),
    ("transformer.wte.weight", torch.zeros(0, 4), "transformer.wte.weight has shape (0, 4)"),
    ("transformer.wpe.weight", torch.zeros(0, 4), "transformer.wpe.weight has 0 rows"),
    ("transformer.wpe.weight", torch.zeros(8, 4, 1), "transformer.wpe.weight"),
    ("transformer.h.0.mlp.c_fc.weight", torch.zeros(16), "transformer.h.0.mlp.c_fc.weight"),
    ("transformer.h.0.attn.c_attn.weight", torch.zeros(4, 11), "transformer.h.0.attn.c_attn.weight has shape"),
    ("transformer.h.0.ln_1.weight", torch.zeros(4, dtype=torch.int64), "non-float"),
])
def test_other_shapes_are_named(tmp_path, capsys, key, tensor, words):
    sd = state()
    sd[key] = tensor
    torch.save(sd, tmp_path / "bad.pt")
    refused([tmp_path / "bad.pt", "--heads", "2"], capsys, words)


def test_a_checkpoint_without_blocks_has_no_heads_to_audit(tmp_path, capsys):
    sd = {k: v for k, v in state().items() if not k.startswith("transformer.h.")}
    torch.save(sd, tmp_path / "noblocks.pt")
    refused([tmp_path / "noblocks.pt", "--heads", "2"], capsys, "no transformer blocks")


def test_no_verdict_over_zero_heads():
    report, _ = audit_heads(np.eye(8), [])
    assert report.verdict == "unknown" and "no heads" in report.summary


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused_with_the_tensor_name(tmp_path, capsys, bad):
    ck = folder(tmp_path)
    from safetensors.torch import load_file, save_file
    sd = load_file(str(ck / "model.safetensors"))
    sd["transformer.h.0.attn.c_attn.weight"][1, 2] = bad
    save_file(sd, str(ck / "model.safetensors"))
    err = refused([ck], capsys, "non-finite", "transformer.h.0.attn.c_attn.weight: 1 of 48")
    assert "wte" not in err
    with pytest.raises(UserError):
        load_checkpoint(ck)


def test_a_valid_checkpoint_still_audits(tmp_path, capsys):
    ck = folder(tmp_path)
    code, out, _ = audit([ck, "--json"], capsys)
    verdict = json.loads(out)["verdict"]
    assert verdict in ("neither", "local", "periodic", "periodic+local")
    assert code == (0 if verdict == "periodic+local" else 1)     # the README's codes: holds 0, fails 1


# ------------------------------------------------------------------ flags, checked before the checkpoint is read
@pytest.mark.parametrize("args, words", [
    (["--window", str(10 ** 12)], ["--window", "1..1048576"]),
    (["--window", "0"], ["--window"]),
    (["--heads", "0"], ["--heads must be an integer in 1..1024, not 0"]),
    (["--heads", "-1"], ["--heads", "not -1"]),
    (["--heads", "1025"], ["--heads", "not 1025"]),
])
def test_bad_flags_are_refused_before_the_checkpoint_is_read(tmp_path, capsys, monkeypatch, args, words):
    import torch_bridge.checkpoint as checkpoint
    monkeypatch.setattr(checkpoint, "load_checkpoint", lambda *a, **k: pytest.fail("read before the flags"))
    for target in (folder(tmp_path), tmp_path / "missing"):
        refused([target, *args], capsys, *words)
    with pytest.raises(UserError, match=words[0]):
        from torch_bridge.audit import audit_checkpoint
        audit_checkpoint(tmp_path / "missing", heads=int(args[1]) if args[0] == "--heads" else None,
                         window=int(args[1]) if args[0] == "--window" else 256)


# ------------------------------------------------------------------ --plot
def test_plot_onto_a_file_is_refused_before_reading(tmp_path, capsys):
    ck = folder(tmp_path)
    (tmp_path / "plots").write_text("mine")
    refused([ck, "--plot", tmp_path / "plots"], capsys, "--plot")
    assert (tmp_path / "plots").read_text() == "mine"


def test_a_failed_plot_leaves_nothing(tmp_path, capsys, monkeypatch):
    import torch_bridge.audit as audit_module
    ck = folder(tmp_path)

    def broken(report, logits, table, out_dir):
        from pathlib import Path
        (Path(out_dir) / "layer00_position_logits.png").write_bytes(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(audit_module, "plot", broken)
    before = sorted(p.name for p in tmp_path.iterdir())
    refused([ck, "--plot", tmp_path / "new" / "plots"], capsys, "--plot", "No space left")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("mine")
    refused([ck, "--plot", tmp_path / "old"], capsys, "--plot")
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["keep.txt"]


# ------------------------------------------------------------------ sizes, checked before allocating
def test_weights_that_would_not_fit_in_memory_are_refused_before_reading(tmp_path, capsys, monkeypatch):
    import torch_bridge.checkpoint as checkpoint
    ck = folder(tmp_path)
    monkeypatch.setattr(checkpoint, "_available_memory", lambda: 1000)
    monkeypatch.setattr(checkpoint, "_read_safetensors", lambda *a: pytest.fail("read before the check"))
    refused([ck], capsys, "GiB of memory")


def test_an_audit_that_would_not_fit_in_memory_names_max_positions(tmp_path, capsys, monkeypatch):
    import torch_bridge.checkpoint as checkpoint
    ck = folder(tmp_path, cfg=GPT2Config(vocab_size=5, n_positions=64, n_embd=4, n_layer=1, n_head=2))
    real = checkpoint._available_memory
    monkeypatch.setattr(checkpoint, "_available_memory", lambda: 200_000)   # the file fits, 64 × 64 × heads not
    err = refused([ck], capsys, "--max-positions")
    monkeypatch.setattr(checkpoint, "_available_memory", real)
    fit = int(err.split("--max-positions ")[1].split()[0])
    code, out, _ = audit([ck, "--max-positions", str(fit), "--json"], capsys)
    assert code in (0, 1) and json.loads(out)["shape"]["audited_positions"] == fit


# ------------------------------------------------------------------ random configs
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 12), st.floats(allow_nan=True),
                    st.text(max_size=6), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                                             st.integers(), max_size=2))
_KEYS = st.sampled_from(["n_head", "n_layer", "n_embd", "n_positions", "n_ctx", "vocab_size", "n_inner",
                         "layer_norm_epsilon", "activation_function", "position_encoding", "head", "tokens",
                         "regularizer_lambda", "model_type"])


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=3))
def test_any_config_loads_or_is_a_user_error(tmp_path, changes):
    ck = tmp_path / "ck"
    if not ck.exists():
        folder(tmp_path)
        (tmp_path / "good.json").write_text((ck / "config.json").read_text())
    cfg = json.loads((tmp_path / "good.json").read_text())
    cfg.update(changes)
    (ck / "config.json").write_text(json.dumps(cfg))
    try:
        loaded = load_checkpoint(ck)
    except UserError:
        return
    c = loaded.config
    assert all(type(x) is int and x >= 1 for x in (c.n_head, c.n_layer, c.n_embd, c.n_positions))
    assert c.n_embd % c.n_head == 0
