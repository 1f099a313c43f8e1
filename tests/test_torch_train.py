"""Training: a tiny model learns binary majority; the CLI saves a Hugging Face folder plus metrics."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch_bridge.checkpoint import load_checkpoint  # noqa: E402
from torch_bridge.data import PAD_LABEL, TaskData, training_case  # noqa: E402
from torch_bridge.train import TrainConfig, encoding_name, train  # noqa: E402
from verify.catalogue import get_case  # noqa: E402
from verify.cli import main  # noqa: E402


@pytest.mark.slow
def test_tiny_model_learns_binary_majority_on_the_training_bin():
    """The CI check: 1 layer, 1 head, d = 16 reaches 100% exact match on fresh training-bin samples
    (inputs of length ≤ 50, 512 samples) well inside its step budget (about 20 s on 2 CPU cores)."""
    cfg = TrainConfig(layers=1, heads=1, d=16, lr=3e-3, steps=1500, eval_every=100, eval_samples=200)
    r = train(get_case("bin_majority"), cfg)
    m = r.metrics
    assert m["train_fit"] and m["train_acc"] == 100.0 and m["stopped_early"], m["history"][-3:]
    assert m["acc_0_50"] >= 99.0       # fresh test samples from the training bin's lengths


def test_sequence_format_scores_only_answer_and_eos():
    data = TaskData(get_case("bin_majority"))
    b = data.sample(np.random.default_rng(0), 8, 5, 9)
    for x, y, n in zip(b.ids, b.targets, b.lengths):
        toks = [data.tokens[t] for t in x[:n]]
        scored = np.flatnonzero(y != PAD_LABEL)
        sep = toks.index("<sep>")
        assert toks[0] == "<bos>" and toks[n - 1] == "<eos>"
        assert list(scored) == list(range(sep, n - 1))              # from <sep> up to before <eos>
        assert [data.tokens[t] for t in y[scored]] == toks[sep + 1:n]  # answer then <eos>


def test_language_format_labels_every_prefix():
    case = get_case("dyck1")
    data = TaskData(case)
    b = data.sample(np.random.default_rng(0), 6, 4, 10)
    for x, y, n in zip(b.ids, b.targets, b.lengths):
        ids = x[1:n][None]
        assert y[0] == PAD_LABEL and np.array_equal(y[1:n], case.labels(ids)[0].astype(int))


def test_training_uses_the_papers_vocabulary_for_copy_and_sort():
    assert training_case(get_case("unique_copy")).extra["vocab_size"] == 150
    assert training_case(get_case("bin_majority")) is get_case("bin_majority")


@pytest.mark.slow
def test_random_offsets_train_the_whole_position_table():
    cfg = TrainConfig(layers=1, heads=1, d=16, steps=25, eval_every=1000, eval_samples=20)
    r = train(get_case("bin_majority"), cfg)
    n_pos = r.metrics["config"]["n_positions"]
    assert n_pos >= 150 + 3
    torch.manual_seed(cfg.seed)
    from torch_bridge.train import make_model
    init = make_model(cfg, TaskData(get_case("bin_majority")), n_pos).transformer.wpe.weight
    moved = (r.model.transformer.wpe.weight - init).abs().sum(dim=1)
    assert (moved[-5:] > 0).all()   # rows only a shifted sequence can reach


def test_encoding_names_match_the_paper():
    assert [encoding_name(p, 1e-4) for p in ("ape", "nope", "reg")] == ["APE", "NoPE", "APE+reg1e-4"]
    assert encoding_name("reg", 1e-3) == "APE+reg1e-3"


def test_bad_options_are_user_errors():
    from verify.problems import UserError
    with pytest.raises(UserError):
        TrainConfig(pe="rope")
    with pytest.raises(UserError):
        TrainConfig(d=10, heads=4)
    for stop in (0, 150, 30001):     # not a multiple of eval_every (200), or outside 1..steps
        with pytest.raises(UserError, match="stop_after"):
            TrainConfig(stop_after=stop)
    assert TrainConfig(stop_after=400).stop_after == 400


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.slow
@pytest.mark.parametrize("case,pe", [("bin_majority", "ape"), ("tomita1", "nope"), ("parity", "reg")])
def test_train_command_saves_a_loadable_folder(tmp_path, capsys, case, pe):
    out_dir = tmp_path / "run"
    code, out, _ = run(["train", case, "--layers", "1", "--heads", "1", "--d", "16", "--steps", "5",
                        "--eval-samples", "20", "--pe", pe, "--out", str(out_dir), "--json"], capsys)
    m = json.loads(out)
    assert code == 0 and m["steps_run"] == 5 and {"acc_0_50", "acc_51_100", "acc_101_150"} <= set(m)
    names = {p.name for p in out_dir.iterdir()}   # plus generation_config.json and tokenizer files (HF parity)
    assert {"config.json", "metrics.json", "model.safetensors"} <= names and not any(n.startswith(".") for n in names)
    ck = load_checkpoint(out_dir)
    assert ck.nope == (pe == "nope")
    assert ck.config.head == ("per_position_binary" if case == "tomita1" else "lm")
    assert json.loads((out_dir / "metrics.json").read_text())["encoding"] == m["encoding"]
    code, out, _ = run(["audit", str(out_dir), "--json"], capsys)
    verdict = json.loads(out)["verdict"]
    assert verdict in ("nope", "neither", "local", "periodic", "periodic+local")
    assert code == (0 if verdict in ("nope", "periodic+local") else 1)     # the README's codes


@pytest.mark.slow
@pytest.mark.parametrize("case", ["tomita3", "dyck1"])
def test_train_and_sweep_take_the_next_symbol_protocol(tmp_path, capsys, case):
    """--protocol next_symbol: the LM head over the alphabet, <bos> and <eos>, for a DFA language and a
    counter language alike; the sweep records it per run."""
    code, out, _ = run(["train", case, "--layers", "1", "--heads", "1", "--d", "16", "--steps", "5",
                        "--eval-samples", "20", "--protocol", "next_symbol", "--out", str(tmp_path / "t"), "--json"],
                       capsys)
    m = json.loads(out)
    assert code == 0 and m["protocol"] == "next_symbol" and m["head"] == "lm"
    assert load_checkpoint(tmp_path / "t").config.head == "lm"
    code, out, _ = run(["sweep", case, "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--steps", "3",
                        "--eval-samples", "10", "--seeds", "1", "--pe", "nope", "--workers", "1",
                        "--protocol", "next_symbol", "--out", str(tmp_path / "s"), "--json"], capsys)
    runs = [json.loads(x) for x in (tmp_path / "s" / "runs.jsonl").read_text().splitlines()]
    assert code == 0 and [r["spec"]["protocol"] for r in runs] == ["next_symbol"]
    assert runs[0]["run"].startswith(f"{case}-next-")


def test_train_command_unknown_case_and_taken_folder(tmp_path, capsys):
    code, _, err = run(["train", "bin_majorty", "--steps", "1"], capsys)
    assert code == 2 and "bin_majority" in err
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    code, _, err = run(["train", "bin_majority", "--steps", "1", "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and "not empty" in err


@pytest.mark.slow
def test_sweep_runs_a_small_grid_and_writes_results(tmp_path, capsys):
    code, out, _ = run(["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3",
                        "--seeds", "2", "--steps", "3", "--pe", "ape,nope", "--eval-samples", "10",
                        "--workers", "1", "--out", str(tmp_path), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and not data["failed"]
    rows = json.loads((tmp_path / "results.json").read_text())
    assert {r["encoding"] for r in rows} == {"APE", "NoPE"} and all(r["runs"] == 2 for r in rows)
    from torch_bridge.results import read_trained_results
    assert read_trained_results(tmp_path / "results.json") == rows
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 4


def test_sweep_ray_backend_without_ray_says_so(tmp_path, capsys):
    pytest.importorskip("torch")
    try:
        import ray  # noqa: F401
        pytest.skip("Ray is installed")
    except ImportError:
        pass
    code, _, err = run(["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3",
                        "--seeds", "1", "--steps", "1", "--pe", "ape", "--backend", "ray", "--out", str(tmp_path)],
                       capsys)
    assert code == 2 and "pip install ray" in err


@pytest.mark.slow
@pytest.mark.parametrize("case", ["bin_majority", "tomita1"])
def test_length_groups_give_the_full_batchs_gradient(case):
    """A step run as 4 groups of similar length equals the step on the whole padded batch: the same
    loss and the same gradient, up to float rounding (the LM and the binary head, offsets, regularizer)."""
    from torch_bridge.train import _Stepper, _setup
    steppers = []
    for groups in (1, 4):
        cfg = TrainConfig(layers=2, heads=2, d=16, length_groups=groups, pe="reg")
        _, data, n_positions, rng = _setup(get_case(case), cfg, True)
        steppers.append(_Stepper(cfg, data, n_positions, rng))
    losses = [[float(s.step()) for _ in range(3)] for s in steppers]   # grads of step 3 stay in .grad
    assert np.allclose(losses[0], losses[1], rtol=1e-5, atol=1e-7), losses
    grads = [[p.grad for p in s.model.parameters()] for s in steppers]
    scale = max(float(g.abs().max()) for g in grads[0])
    assert scale > 0
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-5 * scale)


@pytest.mark.parametrize("name", ["tomita3", "d2"])
def test_next_symbol_protocol_labels_the_legal_next_symbols(name):
    """Each position's target is the set of symbols after which the string can still become a member
    (checked by brute force over short extensions with the DFA), plus <eos> exactly at members.
    (The counter languages' references: tests/test_next_symbols.py.)"""
    import itertools
    from torch_bridge.data import NEXT_SYMBOL
    case = get_case(name)
    data = TaskData(case, NEXT_SYMBOL)
    b = data.sample(np.random.default_rng(0), 12, 1, 8)
    sigma, depth = case.alphabet, len(case.spec.states) + 1
    for x, y, n in zip(b.ids, b.targets, b.lengths):
        word = tuple(data.tokens[t] for t in x[1:n])
        assert case.spec.accepts(word) or any(case.spec.accepts(word + v) for k in range(depth)
                                              for v in itertools.product(sigma, repeat=k))  # walks stay live
        for p in range(n):
            prefix = word[:p]
            for a in sigma:
                legal = any(case.spec.accepts(prefix + (a,) + v) for k in range(depth)
                            for v in itertools.product(sigma, repeat=k))
                assert y[p, data.index[a]] == legal, (word, p, a)
            assert y[p, data.index[case.eos]] == case.spec.accepts(prefix)
            assert y[p, data.index[case.bos]] == PAD_LABEL
        assert (y[n:] == PAD_LABEL).all()


@pytest.mark.slow
def test_next_symbol_training_runs_and_scores_whole_strings():
    cfg = TrainConfig(layers=1, heads=1, d=16, lr=3e-3, steps=300, eval_every=100, eval_samples=100,
                      protocol="next_symbol")
    m = train(get_case("tomita1"), cfg).metrics
    assert m["protocol"] == "next_symbol" and m["head"] == "lm" and m["train_acc"] is not None
    assert m["train_fit"] and m["acc_0_50"] == 100.0, m["history"][-3:]   # 1*: legal sets are constant


@pytest.mark.parametrize("seed", range(4))
def test_the_position_table_holds_every_test_sequence(seed):
    """n_positions is a bound, not a sample: addition's longest sum (a carry out of the longest operand)
    is rarer than the 32 sequences the table used to be sized from; seed 1 of the reproduction hit it."""
    from verify.case import SEQUENCE
    from verify.catalogue import all_cases
    for case in all_cases():
        if case.format != SEQUENCE:
            continue
        data = TaskData(training_case(case))
        table = data.max_total_length(150, np.random.default_rng(seed))
        n = int(data.valid_lengths(0, 150).max())
        longest = max(len(data.case.full_sequence(s)) for s in data.case.sampler(np.random.default_rng(99), 500, n))
        assert longest <= table, case.name
    add = TaskData(get_case("addition"))
    n = 150
    worst = ("1",) * (n - 2) + ("+", "1")          # 2^(n-2) - 1 + 1: the sum has n - 1 bits
    assert len(add.case.answer(worst)) == n - 1
    assert len(add.case.full_sequence(worst)) <= add.max_total_length(150, np.random.default_rng(seed))


def test_patience_stops_only_after_that_many_checks_in_a_row_at_100():
    """tomita1 (1*) fits at its first check; with patience 3 the run goes on to its third check in a row
    at 100%, and a patience below 1 is a user error."""
    from torch_bridge.train import Training
    from verify.problems import UserError
    base = dict(layers=1, heads=1, d=16, lr=3e-3, steps=2000, eval_every=50, train_eval_samples=64,
                eval_samples=50, protocol="next_symbol")
    first = Training(get_case("tomita1"), TrainConfig(**base))
    first.run_until(2000)
    waited = Training(get_case("tomita1"), TrainConfig(**base, patience=3))
    waited.run_until(2000)
    accs = [h["train_acc"] for h in waited.history]
    assert first.history[-1]["train_acc"] == 100.0 and first.step < 2000
    assert accs[-3:] == [100.0] * 3 and waited.step == first.step + 100, accs
    with pytest.raises(UserError, match="patience"):
        TrainConfig(patience=0)
