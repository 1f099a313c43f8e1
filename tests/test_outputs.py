"""verify/outputs.py and the commands that write files: the destination is checked before the
work, content arrives under a temporary name renamed at the end, nothing is left on failure
(user error, disk full, read-only disk), permissions are the usual ones (issue 9)."""
from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from verify import outputs
from verify.problems import UserError

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def tree(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- checks before the work

def test_a_folder_is_not_a_file_target(tmp_path):
    with pytest.raises(UserError, match="is a folder"):
        outputs.check_file_target(tmp_path, "--out")


def test_a_file_in_the_way_of_the_parent_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        outputs.check_file_target(tmp_path / "f" / "deeper" / "x.npz", "--out")
    with pytest.raises(UserError, match="is a file"):
        outputs.check_folder_target(tmp_path / "f" / "run", "--out")


def test_the_suffix_and_an_empty_name_are_checked(tmp_path):
    with pytest.raises(UserError, match=r"\.png"):
        outputs.check_file_target(tmp_path / "x.txt", "--plot", suffixes=(".png",))
    with pytest.raises(UserError, match="empty"):
        outputs.check_file_target("", "--plot")


def test_a_check_creates_nothing(tmp_path):
    outputs.check_file_target(tmp_path / "a" / "b" / "x.npz", "--out")
    outputs.check_folder_target(tmp_path / "c" / "d", "--out")
    assert tree(tmp_path) == []


def test_folder_rules(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        outputs.check_folder_target(tmp_path / "file", "--out")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        outputs.check_folder_target(tmp_path / "full", "--out")
    assert outputs.check_folder_target(tmp_path / "full", "--plot", nonempty_ok=True) == tmp_path / "full"
    (tmp_path / "empty").mkdir()
    outputs.check_folder_target(tmp_path / "empty", "--out")


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_before_the_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(UserError, match="cannot write"):
            outputs.check_file_target(ro / "sub" / "x.png", "--plot")
        with pytest.raises(UserError, match="cannot write"):
            outputs.check_folder_target(ro / "run", "--out")
    finally:
        ro.chmod(0o755)


def test_a_read_only_disk_is_refused_before_the_work(tmp_path, monkeypatch):
    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(outputs.tempfile, "mkstemp", read_only)
    with pytest.raises(UserError, match="Read-only file system"):
        outputs.check_file_target(tmp_path / "x.npz", "--out")
    with pytest.raises(UserError, match="Read-only file system"):
        outputs.check_folder_target(tmp_path / "run", "--out")


# --- writing

def test_a_staged_file_appears_whole_with_normal_permissions(tmp_path):
    target = tmp_path / "new" / "deeper" / "x.bin"
    with outputs.staged_file(target, "--out") as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".bin" and not target.exists()
        tmp.write_bytes(b"payload")
    assert target.read_bytes() == b"payload"
    assert mode(target) == 0o644 and mode(target.parent) == 0o755
    assert tree(tmp_path) == ["new", "new/deeper", "new/deeper/x.bin"]


def test_a_failure_leaves_nothing_not_even_the_parent_folders(tmp_path):
    target = tmp_path / "new" / "deeper" / "x.bin"
    with pytest.raises(RuntimeError):
        with outputs.staged_file(target, "--out") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("the work failed")
    assert tree(tmp_path) == []


def test_a_failure_keeps_the_previous_content(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("[1, 2, 3]")
    with pytest.raises(UserError):
        with outputs.staged_file(target, "--out") as tmp:
            tmp.write_text("[]")
            raise UserError("no")
    assert target.read_text() == "[1, 2, 3]" and tree(tmp_path) == ["results.json"]


def _full_disk(monkeypatch):
    real_open = open

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        return Full(f) if "w" in mode else f
    monkeypatch.setattr("builtins.open", fake_open)


def test_a_full_disk_is_a_user_error_and_leaves_nothing(tmp_path, monkeypatch):
    _full_disk(monkeypatch)
    with pytest.raises(UserError, match="No space left on device"):
        outputs.write_text(tmp_path / "out" / "results.json", "[1]", "--out")
    monkeypatch.undo()
    assert tree(tmp_path) == []


def test_write_text_replaces_atomically(tmp_path):
    target = tmp_path / "r.json"
    outputs.write_text(target, "old", "--out")
    outputs.write_text(target, "new", "--out")
    assert target.read_text() == "new" and tree(tmp_path) == ["r.json"] and mode(target) == 0o644


def test_a_staged_folder_replaces_an_empty_one_with_normal_permissions(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    with outputs.staged_folder(target, "--out") as tmp:
        (tmp / "sub").mkdir(mode=0o700)
        (tmp / "sub" / "w.bin").write_bytes(b"1")
        os.chmod(tmp / "sub" / "w.bin", 0o600)
    assert mode(target) == 0o755 and mode(target / "sub") == 0o755 and mode(target / "sub" / "w.bin") == 0o644
    assert tree(tmp_path) == ["run", "run/sub", "run/sub/w.bin"]


def test_a_staged_folder_never_replaces_the_users_files(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(UserError, match="created by something else"):
        with outputs.staged_folder(target, "--out") as tmp:
            (tmp / "a").write_text("new")
            target.mkdir()
            (target / "keep").write_text("mine")
    assert tree(tmp_path) == ["run", "run/keep"]


def test_a_staged_folder_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with outputs.staged_folder(tmp_path / "a" / "run", "--out") as tmp:
            (tmp / "x").write_text("half")
            raise KeyboardInterrupt
    assert tree(tmp_path) == []


# --- commands

def test_comm_plot_is_checked_first_and_written_whole(tmp_path, capsys):
    from verify.cli import main
    target = tmp_path / "plots" / "bits.png"
    assert main(["comm-complexity", "parity", "--N", "4", "--plot", str(target), "--json"]) in (0, 1, 3)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and mode(target) == 0o644
    assert tree(tmp_path) == ["plots", "plots/bits.png"]


def test_comm_plot_write_failure_leaves_nothing(tmp_path, monkeypatch, capsys):
    from verify.cli import main

    def no_space(*a, **k):
        raise UserError("--plot: cannot write the file: [Errno 28] No space left on device")
    monkeypatch.setattr("verify.comm.plot.plot_bits", no_space)
    code = main(["comm-complexity", "parity", "--N", "4", "--plot", str(tmp_path / "p" / "bits.png")])
    assert code == 2 and "No space left" in capsys.readouterr().err
    assert tree(tmp_path) == []


# --- sweep results: merged, never replaced by fewer (no torch needed: a fake launcher)

def _run(name, encoding="APE", acc=90.0, error=None):
    if error:
        return {"run": name, "task": "bin_majority", "error": error, "error_kind": "internal"}
    return {"run": name, "task": "bin_majority", "encoding": encoding, "acc_0_50": acc, "bins": [[0, 50]],
            "train_fit": True, "wall_s": 1.0,
            "config": {"layers": 1, "heads": 1, "d": 16, "lr": 0.001, "steps": 10}}


def _launcher(records):
    def launch(on_done):
        for r in records:
            on_done(r)
    return launch


def test_a_failed_rerun_never_replaces_results_with_fewer(tmp_path):
    from torch_bridge.sweep import write_results
    out = tmp_path / "sweep"
    _, rows, path = write_results(out, _launcher([_run("a-s0", acc=80.0), _run("a-s1", acc=100.0)]))
    assert path == out / "results.json" and rows[0]["acc_0_50"] == 90.0 and rows[0]["seeds"] == 2
    before = path.read_text()
    runs, rows, path2 = write_results(out, _launcher([_run("a-s0", error="RuntimeError: boom")]))
    assert path.read_text() == before and len(rows) == 1
    _, rows, _ = write_results(out, _launcher([_run("b-s0", encoding="NoPE", acc=10.0)]))
    assert {(r["encoding"], r["acc_0_50"]) for r in json.loads(path.read_text())} == {("APE", 90.0), ("NoPE", 10.0)}
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "runs.jsonl"]
    assert mode(path) == 0o644


def test_a_rerun_of_a_grid_point_replaces_its_earlier_record(tmp_path):
    from torch_bridge.sweep import write_results
    out = tmp_path / "sweep"
    write_results(out, _launcher([_run("a-s0", acc=50.0)]))
    _, rows, _ = write_results(out, _launcher([_run("a-s0", acc=70.0)]))
    assert rows[0]["acc_0_50"] == 70.0 and rows[0]["seeds"] == 1


def test_a_sweep_that_finishes_no_run_leaves_no_folder(tmp_path):
    from torch_bridge.sweep import write_results
    out = tmp_path / "new" / "sweep"

    def interrupted(on_done):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        write_results(out, interrupted)
    assert not out.exists()


def test_a_torn_log_line_is_skipped(tmp_path):
    from torch_bridge.sweep import write_results
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "runs.jsonl").write_text(json.dumps(_run("a-s0")) + "\n" + '{"run": "torn', )
    _, rows, _ = write_results(out, _launcher([_run("a-s1", acc=70.0)]))
    assert rows[0]["seeds"] == 2


# --- train / sweep through the CLI (torch)

@pytest.mark.torch
def test_train_checks_out_before_training_and_writes_normal_permissions(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from verify.cli import main
    import torch_bridge.train as tt
    (tmp_path / "afile").write_text("x")
    real_train = tt.train
    calls = []

    def spy(*a, **k):
        calls.append(1)
        return real_train(*a, **k)
    monkeypatch.setattr(tt, "train", spy)
    code = main(["train", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--steps", "2",
                 "--eval-samples", "4", "--out", str(tmp_path / "afile" / "run")])
    assert code == 2 and calls == [] and "--out" in capsys.readouterr().err
    target = tmp_path / "out" / "run"
    code = main(["train", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--steps", "2",
                 "--eval-samples", "4", "--out", str(target), "--json"])
    assert code == 0 and calls == [1], capsys.readouterr().err
    names = sorted(p.name for p in target.iterdir())
    assert {"config.json", "metrics.json", "model.safetensors"} <= set(names)
    assert mode(target) == 0o755 and all(mode(p) == 0o644 for p in target.iterdir())
    assert tree(tmp_path) == ["afile", "out", "out/run"] + [f"out/run/{n}" for n in names]  # no temporaries


@pytest.mark.torch
def test_train_refuses_a_model_too_big_before_allocating(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from verify.cli import main
    import torch_bridge.train as tt
    monkeypatch.setattr(tt, "make_model", lambda *a, **k: pytest.fail("allocated"))
    monkeypatch.setenv("LENGTHGEN_VERIFY_MEMORY", "64M")
    code = main(["train", "bin_majority", "--layers", "2", "--heads", "2", "--d", "1024", "--batch", "1",
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "--d" in err and "MiB" in err and "LENGTHGEN_VERIFY_MEMORY" in err
    code = main(["train", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--batch", "200000",
                 "--out", str(tmp_path / "r")])
    assert code == 2 and "--batch" in capsys.readouterr().err
    assert tree(tmp_path) == []


@pytest.mark.torch
@pytest.mark.slow
def test_sweep_rerun_keeps_results_and_exit_codes(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from verify.cli import main
    out = tmp_path / "sw"
    args = ["sweep", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--seeds", "1",
            "--steps", "2", "--pe", "ape", "--eval-samples", "4", "--workers", "1", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    results = (out / "results.json").read_text()
    assert json.loads(results)[0]["task"] == "bin_majority"
    model = next((out / "models").iterdir())
    assert mode(model) == 0o755 and all(mode(p) == 0o644 for p in model.iterdir())
    assert mode(out / "results.json") == 0o644 and mode(out / "runs.jsonl") == 0o644
    # the same grid again without --resume/--overwrite: refused before any work, results kept
    assert main(args) == 2
    assert (out / "results.json").read_text() == results
    assert len((out / "runs.jsonl").read_text().splitlines()) == 1
    # a crashing run is an internal error (70), not "refuted" (1)
    import torch_bridge.sweep as sw
    monkeypatch.setattr(sw, "run_one", lambda spec: 1 / 0)
    assert main(args[:-1] + [str(tmp_path / "sw2")]) == 70
    assert "ZeroDivisionError" in capsys.readouterr().err


@pytest.mark.torch
def test_train_on_a_full_disk_is_a_user_error_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from verify.cli import main
    import torch_bridge.checkpoint as ck
    real = ck.save_pretrained

    def full(model, out_dir, extra=None):
        (Path(out_dir) / "config.json").write_text("{half")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ck, "save_pretrained", full)
    code = main(["train", "bin_majority", "--layers", "1", "--heads", "1", "--d", "8", "--steps", "2",
                 "--eval-samples", "4", "--out", str(tmp_path / "a" / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    assert tree(tmp_path) == []
    assert real is not full


def test_a_name_too_long_is_refused_before_the_work(tmp_path):
    with pytest.raises(UserError, match="bytes long"):
        outputs.check_file_target(tmp_path / ("x" * 300 + ".png"), "--plot")
    with pytest.raises(UserError, match="bytes long"):
        outputs.check_folder_target(tmp_path / ("d" * 250) / "run", "--out")
    assert tree(tmp_path) == []


# --- issue 20: an output path that exists and is not a regular file is never replaced
def test_a_device_fifo_or_socket_is_refused_before_the_work(tmp_path):
    import socket
    fifo = tmp_path / "pipe.tsv"
    os.mkfifo(fifo)
    sock_dir = Path("/tmp") / f"lv-sock-{os.getpid()}"     # AF_UNIX paths are short: not under tmp_path
    sock_dir.mkdir(exist_ok=True)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sock_dir / "s.tsv"))
        for special in ("/dev/null", str(fifo), str(sock_dir / "s.tsv")):
            with pytest.raises(UserError, match="not a regular file.*never replaced"):
                outputs.check_file_target(special, "--trace-file")
        assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISSOCK(os.stat(sock_dir / "s.tsv").st_mode)
    finally:
        sock.close()
        (sock_dir / "s.tsv").unlink(missing_ok=True)
        sock_dir.rmdir()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_that_appears_while_the_command_runs_is_not_replaced(tmp_path):
    target = tmp_path / "out.tsv"
    outputs.check_file_target(target, "--trace-file")
    with pytest.raises(UserError, match="not a regular file"):
        with outputs.staged_file(target, "--trace-file") as tmp:
            tmp.write_text("rows")
            os.mkfifo(target)                      # something else put a FIFO there meanwhile
    assert stat.S_ISFIFO(os.stat(target).st_mode) and tree(tmp_path) == ["out.tsv"]


def test_a_folder_target_refuses_a_device_too(tmp_path):
    with pytest.raises(UserError, match="a device, a FIFO"):
        outputs.check_folder_target("/dev/null", "--out")
