"""`verify audit CHECKPOINT --task TASK`: the vocabulary adapter, both heads of the paper's protocol, the bins,
the measurement against the published accuracies of the eight shared checkpoints (tests/data/shared_checkpoints,
trained by the paper's group), the prediction's training-range-only inputs, exit codes and bad input."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from verify.cli import main

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch_bridge.checkpoint import load_checkpoint, save_pretrained  # noqa: E402
from torch_bridge.config import GPT2Config  # noqa: E402
from torch_bridge.evaluate import encode, forward_margins  # noqa: E402
from torch_bridge.measure import measure, parse_bins  # noqa: E402
from torch_bridge.model import GPT2  # noqa: E402
from torch_bridge.task_adapter import NEXT_TOKEN, SETS, adapt, parse_vocab_option  # noqa: E402
from verify.catalogue import get_case  # noqa: E402
from verify.problems import UserError  # noqa: E402

SHARED = Path(__file__).parent / "data" / "shared_checkpoints"
NAMES = sorted(p.name for p in SHARED.iterdir() if p.is_dir())


def published(name):
    """The authors' acc.txt: accuracy on 0-50, 51-100, 101-150."""
    text = (SHARED / name / "acc.txt").read_text()
    return [float(x) for x in re.findall(r"eval_len\d+-\d+_acc: ([0-9.]+)", text)]


def task_of(name):
    return name.split("__")[0]


def loaded(name, vocab=None):
    ck = load_checkpoint(SHARED / name)
    return ck, adapt(ck, get_case(task_of(name)), vocab=vocab, folder=SHARED / name)


def run(capsys, *args):
    code = main(["audit", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ------------------------------------------------------------------ the vocabulary
def test_the_convention_maps_task_symbols_then_specials():
    ck, ad = loaded("bin_majority__1l1h16d")
    assert ad.vocabulary.tokens == ("0", "1", "<bos>", "<sep>", "<eos>", "<pad>")
    assert ad.vocabulary.source.startswith("convention")
    assert ad.head == NEXT_TOKEN and not ad.answer_eos          # binary majority: no <eos> in that code
    data = ad.task_data()
    assert [ad.vocabulary.tokens[i] for i in ad.ids] == [{"=": "<sep>"}.get(t, t) for t in data.tokens]


def test_addition_separator_maps_to_sep_and_unique_copy_takes_the_paper_size():
    _, ad = loaded("addition__4l2h64d")
    data = ad.task_data()
    assert ad.vocabulary.tokens[ad.ids[data.index["="]]] == "<sep>"
    _, ad = loaded("unique_copy__2l1h64d")
    assert ad.case.extra["vocab_size"] == 150 and len(ad.vocabulary.tokens) == 154


def test_a_bce_checkpoint_has_the_next_symbol_set_head():
    _, ad = loaded("tomita5__2l1h64d")
    assert ad.head == SETS and ad.vocabulary.tokens[:2] == ("0", "1")
    with pytest.raises(UserError, match="sequence task"):
        adapt(load_checkpoint(SHARED / "tomita5__2l1h64d"), get_case("bin_majority"), folder=SHARED / "tomita5__2l1h64d")


def test_sizes_that_fit_no_convention_are_refused_with_what_to_do():
    ck = load_checkpoint(SHARED / "bin_majority__1l1h16d")
    with pytest.raises(UserError, match="--vocab") as ex:
        adapt(ck, get_case("majority"), folder=SHARED / "bin_majority__1l1h16d")
    assert "6" in ex.value.message


def test_vocab_option_list_file_and_json(tmp_path):
    assert parse_vocab_option("0,1,<bos>").tokens == ("0", "1", "<bos>")
    assert parse_vocab_option("0 1 <bos>").tokens == ("0", "1", "<bos>")
    f = tmp_path / "v.txt"
    f.write_text("1\n0\n<bos>\n<sep>\n<eos>\n<pad>\n")
    ck = load_checkpoint(SHARED / "bin_majority__1l1h16d")
    ad = adapt(ck, get_case("bin_majority"), vocab=str(f), folder=SHARED / "bin_majority__1l1h16d")
    # the answer format is the training code's: the paper group's bin_majority answers end without <eos>,
    # whatever names the vocabulary
    assert ad.vocabulary.tokens[0] == "1" and not ad.answer_eos
    _, by_convention = loaded("bin_majority__1l1h16d")
    _, by_option = loaded("bin_majority__1l1h16d", vocab="0,1,<bos>,<sep>,<eos>,<pad>")
    assert by_option.ids.tolist() == by_convention.ids.tolist() and not by_option.answer_eos
    j = tmp_path / "v.json"
    j.write_text(json.dumps(["0", "1", "<bos>", "<sep>", "<eos>", "<pad>"]))
    assert parse_vocab_option(str(j)).tokens[-1] == "<pad>"


@pytest.mark.parametrize("text, words", [
    ("0,0,<bos>", "twice"), (",", "no tokens"), ("a,b,c,d,e,f", "no token for"),
    ("0,1,<bos>,<sep>,<eos>,<pad>,x", "7 tokens, but the checkpoint has 6"),
])
def test_bad_vocab_is_a_user_error(text, words):
    ck = load_checkpoint(SHARED / "bin_majority__1l1h16d")
    with pytest.raises(UserError, match=words):
        adapt(ck, get_case("bin_majority"), vocab=text, folder=SHARED / "bin_majority__1l1h16d")


def test_vocab_files_are_size_checked_and_parsed_never_evaluated(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"0\n" * (1 << 20))
    with pytest.raises(UserError, match="at most"):
        parse_vocab_option(str(big))
    bad = tmp_path / "bad.json"
    bad.write_text("[" * 10000)
    with pytest.raises(UserError, match="JSON"):
        parse_vocab_option(str(bad))
    with pytest.raises(UserError, match="regular file"):
        parse_vocab_option("/dev/null")


def test_our_checkpoints_read_their_tokens_from_tokenizer_or_config(tmp_path):
    from torch_bridge.data import TaskData
    data = TaskData(get_case("bin_majority"))
    cfg = GPT2Config(vocab_size=len(data.tokens), n_positions=160, n_embd=8, n_layer=1, n_head=1, tokens=data.tokens)
    torch.manual_seed(0)
    folder = save_pretrained(GPT2(cfg), tmp_path / "ours")
    ck = load_checkpoint(folder)
    ad = adapt(ck, get_case("bin_majority"), folder=folder)
    assert ad.vocabulary.source in ("tokenizer file tokenizer.json", "config.json tokens")
    assert list(ad.ids) == list(range(len(data.tokens))) and ad.answer_eos
    (folder / "tokenizer.json").unlink(missing_ok=True)
    assert adapt(ck, get_case("bin_majority"), folder=folder).vocabulary.source == "config.json tokens"


# ------------------------------------------------------------------ heads and margins
def test_margins_are_positive_exactly_on_right_inputs():
    ck, ad = loaded("bin_majority_interleave__2l2h64d")
    data = ad.task_data()
    enc = encode(ad, data.sample(np.random.default_rng(3), 300, 90, 120))
    margins = forward_margins(ck.model(), ad, enc)
    with torch.no_grad():
        logits = ck.model()(torch.from_numpy(enc.ids)).numpy()
    scored = enc.targets != -100
    right = ((logits.argmax(-1) == enc.targets) | ~scored).all(axis=1)
    assert ((margins > 0) == right).all() and 0 < right.mean() < 1


def test_sets_head_scores_every_position_and_eos():
    ck, ad = loaded("tomita5__2l1h64d")
    data = ad.task_data()
    batch = data.sample(np.random.default_rng(0), 200, 60, 100)
    assert (batch.ids[:, 1:][batch.ids[:, 1:] != data.index["<bos>"]] < 2).all()
    margins = forward_margins(ck.model(), ad, encode(ad, batch))
    with torch.no_grad():
        logits = ck.model()(torch.from_numpy(ad.ids[batch.ids])).numpy()[..., ad.ids]
    scored = batch.targets != -100
    right = (((logits > 0) == (batch.targets == 1)) | ~scored).reshape(200, -1).all(axis=1)
    assert ((margins > 0) == right).all() and 0 < right.mean() < 1


# ------------------------------------------------------------------ bins
def test_bins_parse_and_refuse_nonsense():
    assert parse_bins("0-50, 51-100") == ((0, 50), (51, 100))
    for bad in ("0-", "a-b", "5-3", "", "0-50;51-100"):
        with pytest.raises(UserError, match="--bins"):
            parse_bins(bad)


def test_bins_never_run_past_the_table():
    ck, ad = loaded("bin_majority__1l1h16d")
    with pytest.raises(UserError, match="table has 154"):
        measure(ck.model(), ad, ((0, 10), (140, 160)), samples=10, explicit_bins=True)
    m = measure(ck.model(), ad, ((0, 10), (140, 160)), samples=10)
    assert [(b.lo, b.hi) for b in m.bins] == [(0, 10)] and "left out" in m.notes[0]


# ------------------------------------------------------------------ the published accuracies
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_measure_reproduces_the_published_accuracies(name):
    torch.set_num_threads(1)
    ck, ad = loaded(name)
    m = measure(ck.model(), ad)
    ours = [b.accuracy for b in m.bins]
    assert len(ours) == 3 and all(b.samples == 2000 for b in m.bins)
    assert np.allclose(ours, published(name), atol=0.03), (ours, published(name))


# ------------------------------------------------------------------ the prediction never runs a longer input
@pytest.mark.slow
def test_the_prediction_draws_training_range_inputs_only(monkeypatch):
    from torch_bridge import data as data_module
    from torch_bridge.predict import predict, theory_of
    seen = []
    original = data_module.TaskData.sample

    def spy(self, rng, size, lo, hi):
        seen.append(hi)
        return original(self, rng, size, lo, hi)
    monkeypatch.setattr(data_module.TaskData, "sample", spy)
    ck, ad = loaded("unique_copy__2l1h64d__step1300")
    p = predict(ck.model(), ad, theory_of(ad.case, ck.nope), train_max=30, samples=120)
    assert seen and max(seen) <= 30
    assert p.train_max == 30 and p.generalizes is not None
    import ast
    import torch_bridge.predict as predict_module
    tree = ast.parse(open(predict_module.__file__).read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported and "torch_bridge.measure" not in imported


# ------------------------------------------------------------------ the command
@pytest.mark.slow
def test_audit_with_task_prints_prediction_measure_and_theory_side_by_side(capsys):
    code, out, _ = run(capsys, SHARED / "bin_majority__1l1h16d", "--task", "bin_majority", "--measure", "--samples", "200")
    assert code == 0, out
    assert "predicted (lengths ≤ 50 only): generalizes" in out and "measured: " in out
    assert "theory: expressible in C-RASP[periodic,local]" in out


@pytest.mark.slow
def test_json_names_are_the_api_fields(capsys):
    from verify import api
    folder = SHARED / "tomita5__2l1h64d"
    code = main(["audit", str(folder), "--task", "tomita5", "--json"])
    shown = json.loads(capsys.readouterr().out)
    report = api.audit(folder, task="tomita5")
    assert code == report.exit_code == 1
    for key in ("task", "theory", "prediction", "measured", "side_by_side"):
        assert key in shown
    assert shown["prediction"]["generalizes"] is report.prediction.generalizes is False
    assert shown["measured"] is None and shown["theory"]["expressible"] is False
    assert set(shown["prediction"]) >= {"generalizes", "score", "reason", "evidence", "heads", "target_bin"}


def test_no_prediction_exits_3(capsys):
    code, out, _ = run(capsys, SHARED / "bin_majority__1l1h16d", "--task", "bin_majority", "--bins", "0-50,200-300")
    assert code == 3 and "no prediction" in out and "table has 154" in out


@pytest.mark.parametrize("args, words", [
    (["--task", "no_such_task"], "no_such_task"),
    (["--measure"], "--measure needs --task"),
    (["--vocab", "0,1"], "--vocab needs --task"),
    (["--task", "bin_majority", "--bins", "1-x"], "--bins"),
    (["--task", "bin_majority", "--train-max", "0"], "--train-max"),
    (["--task", "bin_majority", "--samples", "0"], "--samples"),
    (["--task", "majority"], "--vocab"),
    (["--task", "bin_majority", "--vocab", "a,b,c"], "no token for"),
    (["--task", "tomita5"], "next-token model"),
    (["--task", "bin_majority", "--measure", "--bins", "0-50,140-200"], "table has 154"),
])
def test_bad_task_options_are_user_errors(capsys, args, words):
    code, out, err = run(capsys, SHARED / "bin_majority__1l1h16d", *args)
    assert code == 2, (out, err)
    assert words in err, err


@pytest.mark.slow
def test_a_compiled_table_refuses_task(tmp_path, capsys):
    assert main(["compile", "dyck1", "--N", "16", "--out", str(tmp_path / "t.npz")]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, tmp_path / "t.npz", "--task", "dyck1")
    assert code == 2 and "compiled T_N" in err


# ------------------------------------------------------------------ heads
def test_the_head_by_head_forward_is_the_model():
    from torch_bridge.heads import forward
    ck = load_checkpoint(SHARED / "addition__4l2h64d")
    model = ck.model()
    ids = np.random.default_rng(0).integers(0, 7, (3, 20))
    pos = np.arange(20)[None].repeat(3, 0) + 5
    ours, attention = forward(model, ids, pos, attention=True)
    with torch.no_grad():
        theirs = model(torch.from_numpy(ids), 5).double().numpy()
    assert np.abs(ours - theirs).max() < 1e-3
    assert len(attention) == 4 and np.allclose(attention[0].sum(-1), 1, atol=1e-5)
    assert (np.triu(attention[0][0, 0], 1) == 0).all()                  # causal
    ablated, _ = forward(model, ids, pos, ablate=(0, 1))
    assert np.abs(ablated - ours).max() > 1e-3


@pytest.mark.slow
def test_the_distance_test_tells_apart_two_architectures_of_one_task():
    """bin_majority_interleave: 2 layers, 2 heads, d = 16 keeps 91.7% on 101–150 (its authors' figure); d = 64,
    the same task and training, keeps 19.5%. Only the second reads distances beyond the training range."""
    from torch_bridge.predict import predict, theory_of
    results = {}
    for name in ("bin_majority_interleave__2l2h16d", "bin_majority_interleave__2l2h64d"):
        ck, ad = loaded(name)
        p = predict(ck.model(), ad, theory_of(ad.case, ck.nope), samples=400)
        results[name] = p
        distance = next(e for e in p.evidence if e.name == "distance")
        assert distance.data["gap"] % 12 == 0 and distance.data["lengths"][1] <= 50
    small, large = results.values()
    assert small.generalizes is True and large.generalizes is False and small.score > large.score
    assert any(h.shift is not None and h.shift >= 0.1 for h in large.heads)


def test_head_findings_grade_what_ablation_costs():
    from torch_bridge.heads import _finding
    assert "(the output depends on it)" in _finding(0, 0, 0.9, None, 0.03, 1.0)
    assert "(the output partly depends on it)" in _finding(0, 0, 0.9, None, 0.93, 1.0)
    assert "(the output does not need it)" in _finding(0, 0, 0.9, None, 0.99, 1.0)
    assert "it reads distance" in _finding(1, 1, 0.5, 0.15, 0.0, 1.0)
