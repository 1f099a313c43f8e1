"""torch_bridge: GPT-2 layout, the practical regularizer, checkpoint loading and refusing."""
import json
import os
import pickle

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch_bridge.checkpoint import expected_shapes, load_checkpoint, save_pretrained  # noqa: E402
from torch_bridge.config import GPT2Config  # noqa: E402
from torch_bridge.model import GPT2, practical_regularizer  # noqa: E402
from torch_bridge import positional  # noqa: E402
from verify.problems import UserError  # noqa: E402

CFG = GPT2Config(vocab_size=11, n_positions=24, n_embd=16, n_layer=2, n_head=2)


def model(cfg=CFG, seed=0):
    torch.manual_seed(seed)
    return GPT2(cfg).eval()


def ids(b=3, n=9, vocab=11):
    return torch.randint(0, vocab, (b, n), generator=torch.Generator().manual_seed(1))


def test_parameter_names_and_shapes_are_hugging_faces():
    m = model()
    got = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert got == expected_shapes(CFG)
    assert got["transformer.h.1.attn.c_attn.weight"] == (16, 48)     # Conv1D: d × 3d, x @ W
    assert got["transformer.h.0.mlp.c_fc.weight"] == (16, 64)        # MLP width 4d
    assert "lm_head.weight" not in got                                # tied to wte
    logits = m(ids())
    assert torch.allclose(logits, m.transformer(ids()) @ m.transformer.wte.weight.T)


def test_nope_model_has_no_position_table():
    m = model(GPT2Config(**{**CFG.__dict__, "position_encoding": "nope"}))
    assert m.transformer.wpe is None
    assert not any("wpe" in k for k in m.state_dict())
    assert float(m.positional_penalty()) == 0.0


def test_offset_shifts_positions_only_for_ape():
    m = model()
    x = ids()
    assert not torch.allclose(m(x, 0), m(x, 5))
    nope = model(GPT2Config(**{**CFG.__dict__, "position_encoding": "nope"}))
    assert torch.allclose(nope(x, 0), nope(x, 5))
    with pytest.raises(ValueError):
        m(x, 20)  # 20 + 9 positions > 24


def test_same_logits_as_transformers_gpt2():
    transformers = pytest.importorskip("transformers")
    m = model()
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=11, n_positions=24, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0, embd_pdrop=0,
        attn_pdrop=0)).eval()
    missing, unexpected = hf.load_state_dict(m.state_dict(), strict=False)
    assert not unexpected and all(k.endswith(("attn.bias", "attn.masked_bias", "lm_head.weight")) for k in missing)
    hf.tie_weights()
    with torch.no_grad():
        assert torch.allclose(hf(ids()).logits, m(ids()), atol=1e-5)


def _brute_force_penalty(wpe, weights, n_head):
    n, d = wpe.shape
    dh = d // n_head
    total = 0.0
    for w in weights:
        for h in range(n_head):
            q = wpe @ w[:, h * dh:(h + 1) * dh]
            k = wpe @ w[:, d + h * dh:d + (h + 1) * dh]
            for j in range(n):
                for i in range(j, n):
                    total += float(q[i] @ k[j]) ** 2 / n
    return total


def test_practical_regularizer_matches_the_formula():
    m = model()
    wpe = m.transformer.wpe.weight.detach().double().numpy()
    ws = [b.attn.c_attn.weight.detach().double().numpy() for b in m.transformer.h]
    brute = _brute_force_penalty(wpe, ws, 2)
    assert positional.practical_regularizer(wpe, ws, 2) == pytest.approx(brute, rel=1e-10)
    t = practical_regularizer(torch.tensor(wpe), [torch.tensor(w) for w in ws], 2)
    assert float(t) == pytest.approx(brute, rel=1e-10)
    # a different causal cut (i > j, or the full square) would give another number: the test can fail
    full = sum(float(((wpe @ w[:, h * 8:(h + 1) * 8]) @ (wpe @ w[:, 16 + h * 8:16 + (h + 1) * 8]).T).__pow__(2).sum())
               for w in ws for h in range(2)) / 24
    assert abs(full - brute) > 1e-6 * brute


def test_regularizer_has_gradients_into_table_and_attention():
    m = model()
    m.positional_penalty().backward()
    assert m.transformer.wpe.weight.grad.abs().sum() > 0
    assert m.transformer.h[0].attn.c_attn.weight.grad[:, :32].abs().sum() > 0   # query/key columns
    assert m.transformer.h[0].attn.c_attn.weight.grad[:, 32:].abs().sum() == 0  # value columns untouched


# ------------------------------------------------------------------------------ loading
def test_hf_folder_roundtrip(tmp_path):
    m = model()
    save_pretrained(m, tmp_path / "ck", {"metrics.json": {"x": 1}})
    listed = set(os.listdir(tmp_path / "ck"))
    assert {"config.json", "metrics.json", "model.safetensors"} <= listed
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["model_type"] == "gpt2"
    ck = load_checkpoint(tmp_path / "ck")
    assert ck.file_format == "safetensors" and not ck.nope
    assert torch.equal(ck.model()(ids()), m(ids()))


@pytest.mark.parametrize("variant", ["prefixed", "bare", "nested", "ddp", "hf_bin"])
def test_raw_state_dicts(tmp_path, variant):
    m = model()
    sd = m.state_dict()
    if variant == "bare":
        sd = {k.replace("transformer.", "", 1): v for k, v in sd.items()}
    if variant == "nested":
        sd = {"state_dict": sd, "step": torch.tensor(3)}
    if variant == "ddp":
        sd = {"module." + k: v for k, v in sd.items()}
    if variant == "hf_bin":
        sd = {**sd, "lm_head.weight": sd["transformer.wte.weight"],
              "transformer.h.0.attn.bias": torch.ones(1, 1, 24, 24, dtype=torch.bool)}
        (tmp_path / "f").mkdir()
        (tmp_path / "f" / "config.json").write_text(json.dumps(m.config.to_json()))
        path = tmp_path / "f" / "pytorch_model.bin"
    else:
        path = tmp_path / "raw.pt"
    torch.save(sd, path)
    ck = load_checkpoint(path.parent if variant == "hf_bin" else path, n_head=None if variant == "hf_bin" else 2)
    assert ck.file_format.startswith("pickle")
    assert torch.equal(ck.model()(ids()), m(ids()))


def test_raw_state_dict_without_config_needs_heads(tmp_path):
    torch.save(model().state_dict(), tmp_path / "raw.pt")
    with pytest.raises(UserError, match="--heads"):
        load_checkpoint(tmp_path / "raw.pt")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch.save", "pickle.dump"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, how):
    marker = tmp_path / "PWNED"
    payload = {"transformer.wte.weight": torch.zeros(3, 4), "evil": _Payload(marker)}
    path = tmp_path / "evil.bin"
    if how == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)
    assert not marker.exists()
    with pytest.raises(UserError, match="refused") as err:
        load_checkpoint(path, n_head=1)
    assert "nothing in it ran" in err.value.message
    assert not marker.exists()


def test_nope_checkpoint_is_recognized_and_never_given_a_table(tmp_path):
    nope = model(GPT2Config(**{**CFG.__dict__, "position_encoding": "nope"}))
    save_pretrained(nope, tmp_path / "nope")
    ck = load_checkpoint(tmp_path / "nope")
    assert ck.nope and ck.position_table() is None and ck.model().transformer.wpe is None
    assert torch.equal(ck.model()(ids()), nope(ids()))
    # a plain GPT-2 config.json (no position_encoding key) and the all-zero table: NoPE, with a note
    cfg = json.loads((tmp_path / "nope" / "config.json").read_text())
    cfg.pop("position_encoding")
    (tmp_path / "nope" / "config.json").write_text(json.dumps(cfg))
    ck = load_checkpoint(tmp_path / "nope")
    assert ck.nope and any("all zero" in n for n in ck.notes)
    # ... and no wpe tensor at all: still NoPE, with a note
    from safetensors.torch import load_file, save_file
    sd = load_file(str(tmp_path / "nope" / "model.safetensors"))
    assert not sd.pop("transformer.wpe.weight").any()
    save_file(sd, str(tmp_path / "nope" / "model.safetensors"))
    ck = load_checkpoint(tmp_path / "nope")
    assert ck.nope and any("no transformer.wpe.weight" in n for n in ck.notes)
    assert torch.equal(ck.model()(ids()), nope(ids()))


def test_missing_unexpected_and_misshapen_keys_are_named(tmp_path):
    sd = model().state_dict()
    sd.pop("transformer.h.1.ln_2.bias")
    sd["transformer.h.0.attn.rotary.inv_freq"] = torch.zeros(4)
    sd["transformer.ln_f.weight"] = torch.zeros(17)
    torch.save(sd, tmp_path / "bad.pt")
    with pytest.raises(UserError) as err:
        load_checkpoint(tmp_path / "bad.pt", n_head=2)
    text = err.value.render()
    assert "transformer.h.1.ln_2.bias" in text and "rotary.inv_freq" in text and "transformer.ln_f.weight" in text


def test_other_architectures_are_named(tmp_path):
    from safetensors.torch import save_file
    save_file({"model.embed_tokens.weight": torch.zeros(4, 4),
               "model.layers.0.self_attn.q_proj.weight": torch.zeros(4, 4)}, str(tmp_path / "llama.safetensors"))
    with pytest.raises(UserError, match="LLaMA"):
        load_checkpoint(tmp_path / "llama.safetensors", n_head=1)
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    save_file({"x": torch.zeros(1)}, str(tmp_path / "bert" / "model.safetensors"))
    with pytest.raises(UserError, match="another architecture"):
        load_checkpoint(tmp_path / "bert")


def test_corrupt_and_truncated_files(tmp_path):
    save_pretrained(model(), tmp_path / "ck")
    blob = (tmp_path / "ck" / "model.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(UserError, match="truncated|corrupt"):
        load_checkpoint(tmp_path / "cut.safetensors", n_head=2)
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01not a checkpoint at all" * 10)
    with pytest.raises(UserError):
        load_checkpoint(tmp_path / "junk.bin", n_head=2)
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(UserError):
        load_checkpoint(tmp_path / "empty.safetensors", n_head=2)
    with pytest.raises(UserError, match="no such"):
        load_checkpoint(tmp_path / "missing")


def test_save_refuses_a_non_empty_folder_and_leaves_nothing_behind(tmp_path):
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "keep.txt").write_text("mine")
    with pytest.raises(UserError):
        save_pretrained(model(), tmp_path / "ck")
    assert os.listdir(tmp_path / "ck") == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]
