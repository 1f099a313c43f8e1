"""Hugging Face both ways: save with the toolkit -> transformers' from_pretrained -> the same logits,
generation and tokenization; and `verify audit` reads what transformers, `verify compile --out` and
TransformerLens write, and hub-cache snapshots (never downloading)."""
import builtins
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.torch

from torch_bridge.checkpoint import load_checkpoint, save_pretrained  # noqa: E402
from torch_bridge.config import GPT2Config  # noqa: E402
from torch_bridge.data import TaskData  # noqa: E402
from torch_bridge.model import GPT2  # noqa: E402
from verify.catalogue import all_cases  # noqa: E402
from verify.cli import main  # noqa: E402
from verify.problems import UserError  # noqa: E402

transformers.logging.set_verbosity_error()
SEQ_TOKENS = ("<bos>", "0", "1", "<sep>", "<eos>")
# Weights, token ids and greedy generations are exact; float32 logits agree within LOGIT_ATOL (absolute):
# transformers' attention runs the same arithmetic in another order (seen: up to 5e-7 with the pinned
# torch/transformers), so bit-identical logits are not promised (README, torch_bridge/README.md).
LOGIT_ATOL = 1e-5


def assert_same_outputs(theirs, ours, logits_theirs, logits_ours):
    """Every weight of ours is in theirs bit for bit; the logits agree within LOGIT_ATOL."""
    state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        assert key in state and torch.equal(state[key], value), key
    torch.testing.assert_close(logits_theirs, logits_ours, rtol=0, atol=LOGIT_ATOL)


def model(seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(vocab_size=5, n_positions=32, n_embd=16, n_layer=2, n_head=2, tokens=SEQ_TOKENS)
    cfg.update(kw)
    return GPT2(GPT2Config(**cfg)).eval()


def ids(vocab=5, b=3, n=11):
    return torch.randint(0, vocab, (b, n), generator=torch.Generator().manual_seed(1))


def case(name):
    return next(c for c in all_cases() if c.name == name)


def test_ape_lm_weights_exact_logits_within_tolerance(tmp_path):
    m = model()
    hf = transformers.AutoModelForCausalLM.from_pretrained(save_pretrained(m, tmp_path / "ck")).eval()
    assert type(hf).__name__ == "GPT2LMHeadModel"
    with torch.no_grad():
        assert_same_outputs(hf, m, hf(ids()).logits, m(ids()))


def test_nope_through_a_zero_table(tmp_path):
    m = model(position_encoding="nope")
    folder = save_pretrained(m, tmp_path / "ck")
    assert json.loads((folder / "config.json").read_text())["position_encoding"] == "nope"
    hf = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    assert not hf.transformer.wpe.weight.any()
    with torch.no_grad():
        assert_same_outputs(hf, m, hf(ids()).logits, m(ids()))
    ck = load_checkpoint(folder)                       # our loader: the zero table is "no table"
    assert ck.nope and ck.position_table() is None and torch.equal(ck.model()(ids()), m(ids()))
    # a non-zero table under a nope config is refused
    from safetensors.torch import load_file, save_file
    sd = load_file(str(folder / "model.safetensors"))
    sd["transformer.wpe.weight"][3, 1] = 0.5
    save_file(sd, str(folder / "model.safetensors"))
    with pytest.raises(UserError, match="non-zero"):
        load_checkpoint(folder)


def test_language_task_saves_as_token_classification_exactly(tmp_path):
    m = model(head="per_position_binary", tokens=("(", ")", "<bos>"), vocab_size=3)
    folder = save_pretrained(m, tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["architectures"] == ["GPT2ForTokenClassification"] and cfg["num_labels"] == 1
    hf = transformers.AutoModelForTokenClassification.from_pretrained(folder).eval()
    assert type(hf).__name__ == "GPT2ForTokenClassification"
    x = ids(vocab=3)
    with torch.no_grad():
        assert_same_outputs(hf, m, hf(x).logits[..., 0], m(x))
        assert torch.equal(hf.classifier.weight, m.classifier.weight)


@pytest.mark.parametrize("name", ["bin_majority", "addition", "dyck1"])
def test_auto_tokenizer_round_trips_a_tasks_strings(tmp_path, name):
    data = TaskData(case(name))
    m = model(vocab_size=len(data.tokens), tokens=data.tokens,
              head="per_position_binary" if data.is_language else "lm")
    folder = save_pretrained(m, tmp_path / "ck")
    assert (folder / "tokenizer.json").exists() and (folder / "tokenizer_config.json").exists()
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    batch = data.sample(np.random.default_rng(0), 16, 1, 12)
    for row, n in zip(batch.ids, batch.lengths):
        text = " ".join(data.tokens[i] for i in row[:n])
        assert tok(text).input_ids == row[:n].tolist(), text          # the toolkit's own encoding
        assert tok.decode(row[:n].tolist()) == text
    assert tok.bos_token == case(name).bos and tok.bos_token_id == data.index[case(name).bos]
    if not data.is_language:
        assert tok.eos_token_id == data.index[case(name).eos] and tok.sep_token == case(name).sep


def test_the_tokenizer_names_a_symbol_outside_the_vocabulary(tmp_path):
    """No unknown token (the model has no row for one): with the folder's own class (trust_remote_code) the
    symbol is named; the plain transformers tokenizer refuses it too, never reading it as another symbol."""
    folder = save_pretrained(model(), tmp_path / "ck")
    named = transformers.AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    assert type(named).__name__ == "TaskTokenizer" and named("<bos> 0 1 <sep>").input_ids == [0, 1, 2, 3]
    for call in (lambda: named("<bos> 0 2 <sep>"), lambda: named(["<bos> 0", "<bos> 2"]),
                 lambda: named.encode("<bos> 2"), lambda: named.tokenize("<bos> 2")):
        with pytest.raises(ValueError, match=r"symbol '2' \(word \d\) is not in this model's vocabulary: <bos>, 0, 1"):
            call()
    plain = transformers.AutoTokenizer.from_pretrained(folder)
    assert plain("<bos> 0 1 <sep>").input_ids == [0, 1, 2, 3] and plain.unk_token is None
    with pytest.raises(Exception, match="UNK"):
        plain("<bos> 0 2 <sep>")


@pytest.mark.parametrize("protocol", ["next_symbol", "membership"])
def test_a_language_model_says_its_protocol_in_config_json(tmp_path, protocol):
    """Next-symbol sets: independent sigmoids, not a softmax; config.json says so (and the loader reads it)."""
    from torch_bridge.train import TrainConfig, make_model
    data = TaskData(case("tomita1"), protocol)
    m = make_model(TrainConfig(layers=1, heads=1, d=8, protocol=protocol), data, 16)
    folder = save_pretrained(m, tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["protocol"] == protocol and load_checkpoint(folder).config.protocol == protocol
    if protocol == "next_symbol":
        assert cfg["architectures"] == ["GPT2LMHeadModel"] and "sigmoid" in cfg["protocol_note"]
        assert "not a softmax" in cfg["protocol_note"]
    else:
        assert "protocol_note" not in cfg
    plain = json.loads((save_pretrained(model(), tmp_path / "seq") / "config.json").read_text())
    assert "protocol" not in plain and "protocol_note" not in plain     # a sequence task: the LM's own softmax
    bad = dict(cfg, protocol="softmax")
    (folder / "config.json").write_text(json.dumps(bad))
    with pytest.raises(UserError) as err:
        load_checkpoint(folder)
    assert "protocol 'softmax' is not one of membership, next_symbol" in err.value.render()


def test_config_and_data_name_the_same_protocols():
    from torch_bridge import config, data
    assert config.PROTOCOLS == data.PROTOCOLS


def test_save_without_tokenizers_still_works_and_says_so(tmp_path, monkeypatch, caplog):
    real = builtins.__import__

    def no_hf(name, *args, **kw):
        if name.split(".")[0] in ("tokenizers", "transformers"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_hf)
    notes = []
    folder = save_pretrained(model(), tmp_path / "ck", notes=notes)
    assert not (folder / "tokenizer.json").exists()
    assert any("no tokenizer written" in n and "not installed" in n for n in notes)
    assert "no tokenizer written" in caplog.text
    assert load_checkpoint(folder).config.tokens == SEQ_TOKENS


def _stops_after_a_few_tokens(m, eos=4, from_position=7):
    """Rows of the table from `from_position` on point along <eos>'s embedding, so greedy decoding emits
    other tokens first and then <eos>."""
    with torch.no_grad():
        m.transformer.wpe.weight[from_position:] = 20 * m.transformer.wte.weight[eos]
    return m


@pytest.mark.slow
def test_generate_stops_at_eos_like_the_toolkits_greedy_decoding(tmp_path):
    m = _stops_after_a_few_tokens(model(seed=3))
    folder = save_pretrained(m, tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    assert (cfg["bos_token_id"], cfg["sep_token_id"], cfg["eos_token_id"]) == (0, 3, 4)
    hf = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    prompt = torch.tensor([[0, 1, 1, 3], [0, 2, 1, 3]])
    ours = m.greedy_decode(prompt, max_new_tokens=20, eos_id=4)
    for row, want in zip(prompt, ours):
        got = hf.generate(row[None], do_sample=False, max_new_tokens=20)[0].tolist()
        assert got == want
        assert got[-1] == 4 and len(got) < 4 + 20 and 4 not in got[:-1]   # stopped at <eos>


def _audit_json(args, capsys):
    code = main(["audit", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, (json.loads(out) if code in (0, 1, 3) else None), err


def _verdicts(data):
    return (data["verdict"], data["period"], data["radius"],
            [(h["layer"], h["head"], h["kind"], round(h["rms"], 6)) for h in data["heads"]])


@pytest.mark.slow
@pytest.mark.parametrize("how", ["safetensors", "bin"])
def test_audit_reads_a_folder_saved_by_transformers(tmp_path, capsys, how):
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=7, n_positions=40, n_embd=16, n_layer=2,
                                                              n_head=2, bos_token_id=0, eos_token_id=1)).eval()
    folder = tmp_path / "hf"
    hf.save_pretrained(folder)
    if how == "bin":   # transformers 5 writes safetensors only; older versions wrote this pickle
        (folder / "model.safetensors").unlink()
        torch.save(hf.state_dict(), folder / "pytorch_model.bin")
    ck = load_checkpoint(folder)
    assert ck.file_format.startswith("pickle" if how == "bin" else "safetensors")
    with torch.no_grad():
        assert torch.allclose(ck.model()(ids(7)), hf(ids(7)).logits, rtol=0, atol=LOGIT_ATOL)
    code, data, _ = _audit_json([folder], capsys)
    assert code == 1 and data["verdict"] == "neither" and len(data["heads"]) == 4     # conditions fail: exit 1


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_audit_reads_compile_out(tmp_path, capsys, suffix):
    """What `verify compile --out` writes (verify.limit.io.save_finite; banded T_N by default)."""
    from verify.limit import examples
    from verify.limit.compiler import compile_program
    from verify.limit.io import save_finite
    from verify.limit.realize import realize
    limit = compile_program(examples.ends_ab())
    out = save_finite(realize(limit, 48), str(tmp_path / f"t{suffix}"))
    code, data, err = _audit_json([out], capsys)
    assert code == 0, err
    assert (data["verdict"], data["period"], data["radius"]) == ("periodic+local", limit.period, limit.radius)
    assert data["shape"]["file_format"] == "verify compile --out (banded, audited densely)"
    (tmp_path / f"bad{suffix}").write_bytes(b"PK\x03\x04 not really" if suffix == ".npz" else b"\x08" + b"\x00" * 20)
    code, _, err = _audit_json([tmp_path / f"bad{suffix}", "--heads", "1"], capsys)
    assert code == 2 and "Traceback" not in err


def test_audit_of_a_transformer_lens_state_dict_equals_the_original(tmp_path, capsys):
    from torch_bridge.transformer_lens import from_gpt2
    m = model(n_positions=48, n_embd=32, n_head=4)
    with torch.no_grad():   # a periodic table, so the verdict is not the trivial one
        m.transformer.wpe.weight.copy_(m.transformer.wpe.weight[torch.arange(48) % 3])
    save_pretrained(m, tmp_path / "ck")
    tl = from_gpt2(m.state_dict(), 4)
    tl["blocks.0.attn.mask"] = torch.tril(torch.ones(48, 48, dtype=torch.bool))
    tl["blocks.0.attn.IGNORE"] = torch.tensor(-1e5)
    assert tl["blocks.1.attn.W_Q"].shape == (4, 32, 8) and tl["blocks.1.attn.W_O"].shape == (4, 8, 32)
    torch.save(tl, tmp_path / "tl.pth")
    ck = load_checkpoint(tmp_path / "tl.pth")
    assert ck.config.n_head == 4 and "TransformerLens" in ck.file_format
    assert torch.equal(ck.model()(ids()), m(ids()))
    code, original, _ = _audit_json([tmp_path / "ck"], capsys)
    code2, converted, _ = _audit_json([tmp_path / "tl.pth"], capsys)
    assert code == code2 == 0 and _verdicts(original) == _verdicts(converted)
    assert original["verdict"] == "periodic+local" and original["period"] == 3
    # a wrong head layout is named
    tl["blocks.1.attn.W_K"] = tl["blocks.1.attn.W_K"][:, :, :4]
    torch.save(tl, tmp_path / "bad.pth")
    code, _, err = _audit_json([tmp_path / "bad.pth"], capsys)
    assert code == 2 and "W_Q/W_K/W_V" in err


def _hub_cache(root, folder, org="toy-org", name="toy-gpt2"):
    repo = root / f"models--{org}--{name}"
    snap = repo / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        (repo / "blobs").mkdir(exist_ok=True)
        (repo / "blobs" / f.name).write_bytes(f.read_bytes())
        os.symlink(os.path.relpath(repo / "blobs" / f.name, snap), snap / f.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return repo, snap


def test_audit_reads_a_hub_cache_snapshot_and_never_downloads(tmp_path, capsys, monkeypatch):
    save_pretrained(model(), tmp_path / "ck")
    repo, snap = _hub_cache(tmp_path / "hub", tmp_path / "ck")
    want_code, want, _ = _audit_json([tmp_path / "ck"], capsys)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    for arg in (snap, repo, "toy-org/toy-gpt2"):
        code, data, err = _audit_json([arg], capsys)
        assert code == want_code and code in (0, 1), err
        assert _verdicts(data) == _verdicts(want)
    code, _, err = _audit_json(["other-org/not-here"], capsys)
    assert code == 2 and "nothing is downloaded" in err and "snapshots" in err


def test_share_threshold_bad_values_exit_2(tmp_path, capsys):
    save_pretrained(model(), tmp_path / "ck")
    for bad in ("-1", "inf", "nan"):
        code, _, err = _audit_json([tmp_path / "ck", "--share-threshold", bad], capsys)
        assert code == 2 and "--share-threshold" in err


def test_hub_cache_mistakes_exit_2(tmp_path, capsys):
    save_pretrained(model(), tmp_path / "ck")
    repo, _ = _hub_cache(tmp_path / "hub", tmp_path / "ck")
    (repo / "refs" / "main").write_text("feedbeef")
    code, _, err = _audit_json([repo], capsys)
    assert code == 2 and "feedbeef" in err and "not in" in err


def test_special_token_names_in_config_are_checked(tmp_path, capsys):
    folder = save_pretrained(model(), tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["eos_token"] = 4
    (folder / "config.json").write_text(json.dumps(cfg))
    code, _, err = _audit_json([folder], capsys)
    assert code == 2 and "eos_token must be a token string" in err


def test_the_core_and_the_loader_do_not_import_transformers():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from verify.cli import _register_commands; _register_commands()\n"
            "import torch_bridge.hf, torch_bridge.checkpoint, torch_bridge.transformer_lens, torch_bridge.audit\n"
            "assert 'transformers' not in sys.modules and 'tokenizers' not in sys.modules\n" % str(root))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_transformer_lens_with_folded_layer_norm_is_read_with_a_note(tmp_path):
    from torch_bridge.transformer_lens import from_gpt2
    m = model()
    tl = {k: v for k, v in from_gpt2(m.state_dict(), 2).items() if not k.endswith((".w", ".b")) or "ln" not in k}
    tl["unembed.b_U"] = torch.ones(5)
    torch.save(tl, tmp_path / "folded.pth")
    ck = load_checkpoint(tmp_path / "folded.pth")
    assert any("folded" in n for n in ck.notes) and any("b_U" in n for n in ck.notes)
    assert ck.state["transformer.h.1.ln_2.weight"].dtype == np.float32       # the state is numpy, float32
    assert np.array_equal(ck.state["transformer.h.1.ln_2.weight"], np.ones(16))
    assert np.array_equal(ck.c_attn(1), m.transformer.h[1].attn.c_attn.weight.detach().numpy())
