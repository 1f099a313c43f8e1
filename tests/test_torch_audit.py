"""The audit tells structures apart: periodic tables, local heads, fresh models, NoPE, compiled T_N."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch_bridge.audit import audit_gpt2, audit_heads  # noqa: E402
from torch_bridge.checkpoint import save_pretrained  # noqa: E402
from torch_bridge.config import GPT2Config  # noqa: E402
from torch_bridge.model import GPT2  # noqa: E402
from torch_bridge.scores import layer_scores, table_periodicity  # noqa: E402
from verify.cli import main  # noqa: E402


def fresh(cfg, seed=0):
    torch.manual_seed(seed)
    return GPT2(cfg).eval()


def periodic_model(period=6, n=96, d=32, heads=4):
    m = fresh(GPT2Config(vocab_size=5, n_positions=n, n_embd=d, n_layer=2, n_head=heads))
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(period, d))
    with torch.no_grad():
        m.transformer.wpe.weight.copy_(torch.tensor(rows[np.arange(n) % period]))
    return m


def local_model(g=(2.0, -1.0, 0.5, 3.0), n=64):
    """Position table = one-hot of the absolute position (first n coordinates); head 0's query block
    maps e_i to row i of the Toeplitz matrix G[i, j] = g(i − j) (0 beyond τ = len(g) − 1), its key
    block copies e_j — so (P Wq)(P Wk)ᵀ = G exactly; head 1 reads no position."""
    d = 2 * n
    m = fresh(GPT2Config(vocab_size=5, n_positions=n, n_embd=d, n_layer=1, n_head=2))
    off = np.arange(n)[:, None] - np.arange(n)[None, :]
    G = np.where((off >= 0) & (off < len(g)), np.array(g)[np.clip(off, 0, len(g) - 1)], 0.0)
    table = np.zeros((n, d))
    table[:, :n] = np.eye(n)
    w = np.zeros((d, 3 * d))
    w[:n, :n] = G            # query columns of head 0: (P Wq)_i = G[i]
    w[:n, d:d + n] = np.eye(n)  # key columns of head 0: (P Wk)_j = e_j
    with torch.no_grad():
        m.transformer.wpe.weight.copy_(torch.tensor(table))
        m.transformer.h[0].attn.c_attn.weight.copy_(torch.tensor(w))
    return m


def audit_model(m, **kw):
    cfg = m.config
    return audit_gpt2(m.transformer.wpe.weight.detach().numpy() if m.transformer.wpe is not None else None,
                      [b.attn.c_attn.weight.detach().numpy() for b in m.transformer.h], cfg.n_head, **kw)[0]


def test_periodic_table_is_reported_periodic_with_its_true_period():
    for period in (1, 4, 6, 7):
        r = audit_model(periodic_model(period))
        assert r.kind == "periodic+local" and r.period == period, (period, r.summary)
        assert r.table.best_period == period


def test_local_head_is_reported_local_with_its_radius():
    for g in ((1.0,), (2.0, -1.0, 0.5, 3.0), (0.0, 0.0, 5.0)):
        r = audit_model(local_model(g))
        h0, h1 = r.heads
        assert h0.scores.kind == "local" and h0.scores.radius == len(g) - 1, (g, h0)
        assert h1.scores.kind == "none"
        assert r.kind == "local" and r.radius == len(g) - 1 and not r.table.periodic


def test_fresh_model_is_neither():
    for seed in range(3):
        m = fresh(GPT2Config(vocab_size=5, n_positions=128, n_embd=64, n_layer=2, n_head=4), seed)
        r = audit_model(m)
        assert r.kind == "neither", r.summary
        assert all(h.scores.kind == "neither" for h in r.heads)
        assert not r.table.periodic


def test_nope_is_reported_as_nope():
    m = fresh(GPT2Config(vocab_size=5, n_positions=32, n_embd=16, n_layer=1, n_head=2, position_encoding="nope"))
    r = audit_model(m)
    assert r.kind == "nope" and r.heads == () and r.penalty == 0.0


def test_audit_regularizer_equals_the_models():
    m = periodic_model(5)
    r = audit_model(m)
    assert r.penalty == pytest.approx(float(m.positional_penalty().detach()), rel=1e-4)


def test_scores_separate_periodic_local_and_both():
    n = 160
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    off = i - j
    band = np.where((off >= 0) & (off <= 3), np.array([3.0, -1.0, 2.0, 0.5])[np.clip(off, 0, 3)], 0.0)
    per = np.random.default_rng(0).normal(size=(3, 3))[i % 3, j % 3]
    noise = np.random.default_rng(1).normal(size=(n, n))
    got = layer_scores(np.stack([band, per, per + 2 * band, noise, 0 * noise]))
    assert [s.kind for s in got] == ["local", "periodic", "periodic+local", "neither", "none"]
    assert got[0].radius == 3 and got[1].period == 3 and (got[2].period, got[2].radius) == (3, 3)


def test_table_periodicity_ignores_a_constant_shift_but_not_noise():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(5, 8))[np.arange(200) % 5]
    assert table_periodicity(base + 100.0).best_period == 5
    assert not table_periodicity(rng.normal(size=(200, 8))).periodic


# ------------------------------------------------------------------------ compiled T_N
def _compiled(program, N=64):
    from verify.limit.compiler import compile_program
    from verify.limit.conditions import model_heads
    from verify.limit.realize import realize
    finite = realize(compile_program(program), N)
    # rows 1..N: the input positions (row 0 is the BOS)
    return audit_heads(finite.positions[1:], model_heads(finite))[0]


def test_compiled_periodic_program_is_periodic_with_its_period():
    from verify.crasp.builder import ProgramBuilder, and_, count, eq, periodic, sym
    from verify.limit import examples
    r = _compiled(examples.aa_star())
    assert r.kind == "periodic+local" and r.period == 2
    b = ProgramBuilder(["a", "b"])
    b.accept(and_(eq(count(sym("b")), 0), periodic(3, [1])))
    r = _compiled(b.build())
    assert r.kind == "periodic+local" and r.period == 3


def test_compiled_local_program_is_local_with_its_radius():
    from verify.crasp.builder import ProgramBuilder, and_, gt, guarded, sym
    from verify.limit import examples
    r = _compiled(examples.ends_ab())
    assert r.kind == "local" and r.radius == 1
    b = ProgramBuilder(["a", "b"])
    b.accept(and_(sym("b"), gt(guarded(sym("a"), [3]), 0)))
    r = _compiled(b.build())
    assert r.kind == "local" and r.radius == 3
    assert [h.scores.kind for h in r.heads].count("local") == 1


# ------------------------------------------------------------------------ the command
def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_audit_command_json_and_plots(tmp_path, capsys):
    save_pretrained(periodic_model(4), tmp_path / "ck")
    code, out, _ = run(["audit", str(tmp_path / "ck"), "--json", "--plot", str(tmp_path / "plots")], capsys)
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "periodic+local" and data["period"] == 4
    assert len(data["heads"]) == 8 and data["heads"][4]["approximate"] is True
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert pngs == ["layer00_position_logits.png", "layer01_position_logits.png", "table_periodicity.png"]
    assert all((tmp_path / "plots" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    code, out, _ = run(["audit", str(tmp_path / "ck")], capsys)
    assert code == 0 and "verdict: periodic+local" in out


def test_audit_command_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    save_pretrained(periodic_model(4), tmp_path / "ck")
    blob = (tmp_path / "ck" / "model.safetensors").read_bytes()
    (tmp_path / "ck" / "model.safetensors").write_bytes(blob[:1000])
    code, _, err = run(["audit", str(tmp_path / "ck"), "--plot", str(tmp_path / "plots")], capsys)
    assert code == 2 and ("truncated" in err or "corrupt" in err)
    assert not (tmp_path / "plots").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".audit")]
    code, _, err = run(["audit", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "no such" in err


def test_audit_command_reads_a_raw_state_dict_with_heads(tmp_path, capsys):
    m = periodic_model(3)
    torch.save({k.replace("transformer.", "", 1): v for k, v in m.state_dict().items()}, tmp_path / "raw.pt")
    code, _, err = run(["audit", str(tmp_path / "raw.pt")], capsys)
    assert code == 2 and "--heads" in err
    code, out, _ = run(["audit", str(tmp_path / "raw.pt"), "--heads", "4", "--json", "--exact"], capsys)
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "periodic+local" and data["period"] == 3
    assert data["exact_table"]["period"] == 3 and all("exact" in h for h in data["heads"])
