"""The proof cache of the report's Z3 column (verify/smt/report_columns.py): safe under concurrent
writers, tolerant of corrupt contents, and never downgrading a proof (issue 9)."""
from __future__ import annotations

import json
import multiprocessing as mp
import os

import pytest

from verify.smt import report_columns as rc
from verify.verdict import HOLDS, REFUTED, UNKNOWN, Counterexample, Verdict


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "smt.json"
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(path))
    rc._warned.clear()
    return path


def proof(k=1):
    return Verdict(HOLDS, "p agrees with s", "k-induction", "every length", evidence={"k": k})


def bounded(n):
    return Verdict(HOLDS, "p agrees with s", "bounded model checking", f"lengths 1..{n}", evidence={"max_len": n})


def unknown(n=0):
    return Verdict(UNKNOWN, "p agrees with s", "k-induction", "nothing", reason="timeout",
                   evidence={"checked_up_to": n} if n else {})


def refuted():
    return Verdict(REFUTED, "p agrees with s", "bmc", "lengths 1..3",
                   counterexample=Counterexample(("1", "0"), None, True, False))


def test_a_proof_is_never_replaced_by_unknown_or_a_bounded_check(cache):
    assert rc.remember("k", proof())
    assert not rc.remember("k", unknown())
    assert not rc.remember("k", unknown(12))
    assert not rc.remember("k", bounded(40))
    assert rc._load()["k"]["cell"].startswith("proved for all lengths")


def test_a_refutation_is_never_replaced_by_unknown(cache):
    rc.remember("k", refuted())
    rc.remember("k", unknown(12))
    assert rc._load()["k"]["status"] == REFUTED


def test_bounded_checks_only_move_up(cache):
    rc.remember("k", bounded(12))
    assert not rc.remember("k", bounded(8))
    assert not rc.remember("k", unknown())
    assert rc._load()["k"]["cell"] == "checked up to 12"
    assert rc.remember("k", bounded(20)) and rc._load()["k"]["cell"] == "checked up to 20"
    assert rc.remember("k", proof()) and rc._load()["k"]["cell"].startswith("proved")


def test_an_unknown_fills_an_empty_slot(cache):
    assert rc.remember("k", unknown()) and rc._load()["k"]["cell"] == "unknown"


def test_a_timed_out_prove_keeps_the_cached_proof(cache):
    """The case reported in the issue: `prove` with a short timeout after a proof."""
    from verify.catalogue import get_case
    case = get_case("tomita4")
    rc.record_case(case, proof(2))
    rc.record_case(case, unknown(16))
    assert rc._load()[rc.fingerprint(case.build_program(), case.spec)]["cell"] == "proved for all lengths (2-induction)"


@pytest.mark.parametrize("content", ["", "{}", '{"k": 5, "good": {"cell": "unknown", "status": "unknown"}}'])
def test_an_empty_or_damaged_cache_is_replaced(cache, content, capsys):
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    assert rc.remember("new", proof())
    data = json.loads(cache.read_text())
    assert isinstance(data, dict) and data["new"]["status"] == HOLDS and "k" not in data
    assert capsys.readouterr().err == ""   # a cache's malformed entries are skipped quietly


@pytest.mark.parametrize("content", ["[]", "null", '"x"', "3", "true", "{broken", '{"k": 5, "j": [1]}',
                                     '{"k": {"cell": 3}}', '{"name": "my-project", "version": "1.0"}'])
def test_a_file_that_is_not_a_cache_is_ignored_and_never_overwritten(cache, content, capsys):
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    assert rc._load() == {}
    assert rc.remember("new", proof()) is False
    assert cache.read_text() == content          # the user's file is left as it was
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and str(cache) in err and "leaving it as it is" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("special", ["fifo", "device", "folder"])
def test_a_cache_path_that_is_not_a_regular_file_is_never_read_nor_replaced(tmp_path, monkeypatch, special,
                                                                            capsys):
    import signal
    path = tmp_path / "smt.json"
    if special == "fifo":
        os.mkfifo(path)
    elif special == "folder":
        path.mkdir()
    else:
        path = "/dev/zero"                        # an endless stream: reading it whole would never end
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(path))
    rc._warned.clear()
    signal.alarm(20)                              # a blocking open would hang the test: fail it instead
    try:
        assert rc._load() == {}
        assert rc.remember("new", proof()) is False
    finally:
        signal.alarm(0)
    assert os.path.exists(path) and not os.path.isfile(path)
    assert not os.path.exists(f"{path}.lock")     # nothing is created beside it either
    assert "not a regular file" in capsys.readouterr().err or special == "folder"


def test_a_cache_above_the_size_limit_is_not_read(cache, monkeypatch, capsys):
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"k": {"cell": "unknown", "status": "unknown"}}))
    monkeypatch.setattr(rc, "MAX_CACHE_BYTES", 10)
    assert rc._load() == {} and rc.remember("new", proof()) is False
    assert "above the limit" in capsys.readouterr().err


def test_a_deeply_nested_cache_is_a_warning_not_a_crash(cache, capsys):
    cache.parent.mkdir(parents=True)
    cache.write_text("[" * 100_000)
    assert rc._load() == {}
    assert "nested too deeply" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("content", ["[]", "null", '"x"'])
def test_prove_survives_a_corrupt_cache(cache, content, capsys):
    from verify.cli import main
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    assert main(["prove", "tomita4", "--timeout", "20", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == HOLDS and "Traceback" not in err
    assert cache.read_text() == content


@pytest.mark.slow
def test_the_report_column_survives_a_corrupt_cache(cache):
    from verify.catalogue import get_case
    cache.parent.mkdir(parents=True)
    cache.write_text('{"whatever": null}')
    cell = rc.columns(get_case("tomita4"), prove=True)[rc.COLUMN]
    assert cell.startswith("proved for all lengths")   # read past the corrupt cache, proved, no error


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(blocker / "smt.json"))  # its folder is a file
    assert rc.remember("k", proof()) is False


def test_no_temporary_files_are_left(cache):
    for i in range(5):
        rc.remember(f"k{i}", proof())
    names = sorted(p.name for p in cache.parent.iterdir())
    assert names == ["smt.json", "smt.json.lock"]
    assert oct(cache.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


# --- concurrency: separate processes, as separate `verify` runs would be

def _writer(path, worker, count, barrier):
    os.environ["LENGTHGEN_VERIFY_CACHE"] = path
    barrier.wait()
    for i in range(count):
        rc.remember(f"w{worker}-{i}", proof() if i % 2 else bounded(i + 1))


def _reader(path, stop, counts, barrier):
    barrier.wait()
    reads = invalid = 0
    while not stop.is_set():
        try:
            text = open(path).read()
        except FileNotFoundError:
            continue
        reads += 1
        try:
            if not isinstance(json.loads(text), dict):
                invalid += 1
        except ValueError:
            invalid += 1
    counts["reads"], counts["invalid"] = reads, invalid


@pytest.mark.slow
def test_concurrent_writers_lose_nothing_and_readers_never_see_half_a_file(cache):
    writers, per_writer = 8, 50
    cache.parent.mkdir(parents=True)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(writers + 1)
    stop = ctx.Event()
    with ctx.Manager() as manager:
        counts = manager.dict()
        reader = ctx.Process(target=_reader, args=(str(cache), stop, counts, barrier))
        procs = [ctx.Process(target=_writer, args=(str(cache), w, per_writer, barrier)) for w in range(writers)]
        reader.start()
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        stop.set()
        reader.join(30)
        assert all(p.exitcode == 0 for p in procs)
        data = json.loads(cache.read_text())
        missing = [f"w{w}-{i}" for w in range(writers) for i in range(per_writer) if f"w{w}-{i}" not in data]
        assert missing == [], f"{len(missing)} of {writers * per_writer} entries lost"
        assert counts["reads"] > 0 and counts["invalid"] == 0, dict(counts)
    assert [p.name for p in cache.parent.iterdir() if p.name.endswith(".tmp")] == []


# --- issue 21: proofs, checks and columns kept by content, so a warm report pays only for what changed

def test_without_certificates_the_proofs_are_searched(cache):
    from verify.catalogue import get_case
    cells = rc.prepare([get_case("tomita1")], prove=True, workers=1, certificates=False)
    assert cells["tomita1"].startswith("proved for all lengths")
    assert rc.LAST_PREPARE == {"from_cache": 0, "proved_now": 1, "certified": 0, "searched": 1}


def test_a_second_prepare_proves_nothing(cache, monkeypatch):
    """The report's proofs are cached by content: the second run reads every cell from the cache and runs
    no proof at all (the pool and the prover are replaced by traps)."""
    from verify.catalogue import get_case
    cases = [get_case("tomita1"), get_case("dyck1"), get_case("parity")]
    first = rc.prepare(cases, prove=True, workers=1)
    assert first["tomita1"].startswith("proved for all lengths") and first["parity"] == "no spec"
    # dyck1's certificate names variables SMT-LIB must quote (|s.#(@cert|): re-checked, not searched
    assert rc.LAST_PREPARE == {"from_cache": 0, "proved_now": 2, "certified": 2, "searched": 0}

    def trap(*args, **kwargs):
        raise AssertionError("a proof was run on a warm cache")
    monkeypatch.setattr(rc, "_in_pool", trap)
    monkeypatch.setattr(rc, "_prove_cell", trap)
    monkeypatch.setattr(rc, "_certified_cell", trap)
    assert rc.prepare(cases, prove=True) == first
    assert rc.LAST_PREPARE == {"from_cache": 2, "proved_now": 0, "certified": 0, "searched": 0}
    with pytest.raises(AssertionError, match="warm cache"):       # the trap does fire on a miss
        rc.prepare(cases, prove=True, use_cache=False)


_KEY_SCRIPT = ("from verify.catalogue import get_case\n"
               "from verify.smt import report_columns as rc\n"
               "c = get_case('bin_majority')\n"
               "print(rc._report_key(c.build_program(), c.spec), rc.fingerprint(c.build_program(), c.spec))\n")


def test_report_keys_are_the_same_in_every_process_and_follow_the_content():
    """A sequence specification holds functions; its key renders them by module, name and closure (and hashes
    their source), never by address, so another process computes the same key (it did not: a cache that never
    hit). A different program, or a closure with a different value, gives another key."""
    import dataclasses
    import subprocess
    import sys

    from cases.copy import make_unique_copy
    from verify.catalogue import get_case
    from verify.crasp.parser import parse_program
    case = get_case("bin_majority")
    here = f"{rc._report_key(case.build_program(), case.spec)} {rc.fingerprint(case.build_program(), case.spec)}"
    there = subprocess.run([sys.executable, "-c", _KEY_SCRIPT], capture_output=True, text=True, timeout=120,
                           check=True).stdout.strip()
    assert here == there and " at 0x" not in json.dumps(rc._canon(case.spec))
    t1 = get_case("tomita1")
    other = dataclasses.replace(t1, program=lambda: parse_program('alphabet "0" "1"\naccept = #["1"] == 0', "w"))
    assert rc._report_key(t1.build_program(), t1.spec) != rc._report_key(other.build_program(), t1.spec)
    from verify.content_hash import content_key
    assert content_key(make_unique_copy(4)) != content_key(make_unique_copy(5))
    assert content_key(make_unique_copy(4)) == content_key(make_unique_copy(4))

    def adder(n):
        return lambda x: x + n
    assert content_key(adder(1)) != content_key(adder(2)) and content_key(adder(1)) == content_key(adder(1))


def test_checks_and_columns_are_kept_by_content(cache, monkeypatch):
    """`verify report` keeps its checks and the later stages' columns in the same cache: a second build reads
    them (no check runs, no miss) and gives the same rows; --no-cache (use_cache False) writes nothing."""
    import verify.report as report
    from verify import report_memo
    from verify.catalogue import get_case
    from verify.verdict import Verdict
    monkeypatch.setattr(report, "all_cases", lambda: [get_case(n) for n in ("tomita4", "parity", "repeat_copy")])
    monkeypatch.setattr(rc, "_prepared", {})
    settings = report.ReportSettings(budget=256, samples=20, use_cache=True)
    first = report.build_rows(settings)
    assert report_memo.LAST_STATS["hits"] == 0 and report_memo.LAST_STATS["misses"] > 0
    stored = json.loads(cache.read_text())
    assert sum(1 for e in stored.values() if e["status"] == report_memo.STATUS) == report_memo.LAST_STATS["misses"]
    calls = []
    real = report.check_case
    monkeypatch.setattr(report, "check_case", lambda *a, **k: calls.append(a) or real(*a, **k))
    second = report.build_rows(settings)
    assert second == first and calls == [] and report_memo.LAST_STATS["misses"] == 0
    changed = report.build_rows(dataclasses_replace(settings, seed=1))      # other settings: checked again
    assert len(calls) == 1 and changed[0]["check"]["evidence"]["seed"] == 1
    cache.unlink()
    report.build_rows(dataclasses_replace(settings, use_cache=False))
    assert not cache.exists()
    v = Verdict.from_dict(first[0]["check"])                               # a cached check is a Verdict again
    assert v.as_dict() == first[0]["check"] and v.ok


def dataclasses_replace(obj, **changes):
    import dataclasses
    return dataclasses.replace(obj, **changes)


def test_editing_a_module_changes_the_keys_of_what_reads_it_and_only_those(monkeypatch):
    """The keys hash the source of the modules a result's functions live in and of everything they import
    (a lazy import inside a function included): an edit to cases/tomita.py moves the tomita cases' keys and
    not dyck1's; an edit to the prover (its own modules, PROVER_SOURCES) moves every proof key."""
    from verify import content_hash
    from verify.catalogue import get_case
    t4, dyck = get_case("tomita4"), get_case("dyck1")
    before = {c.name: content_hash.content_key(c, code=("verify.checking",)) for c in (t4, dyck)}
    proof_before = rc._report_key(dyck.build_program(), dyck.spec)
    real = content_hash._file_digest

    def edited(*names):
        files = {content_hash.module_file(n) for n in names}
        return lambda path: "edited" if path in files else real(path)
    monkeypatch.setattr(content_hash, "_file_digest", edited("cases.tomita"))
    after = {c.name: content_hash.content_key(c, code=("verify.checking",)) for c in (t4, dyck)}
    assert after["tomita4"] != before["tomita4"] and after["dyck1"] == before["dyck1"]
    assert rc._report_key(dyck.build_program(), dyck.spec) == proof_before
    monkeypatch.setattr(content_hash, "_file_digest", edited("verify.inputs"))       # not the prover's semantics
    assert rc._report_key(dyck.build_program(), dyck.spec) == proof_before
    monkeypatch.setattr(content_hash, "_file_digest", edited("verify.smt.refute"))   # the prover itself
    assert rc._report_key(dyck.build_program(), dyck.spec) != proof_before
    # lazy imports count: the Limit Transformer column imports these inside its function only
    closure = content_hash.module_closure("verify.limit.report_columns")
    assert {"verify.limit.agreement", "verify.limit.compiler", "verify.problems"} <= closure
