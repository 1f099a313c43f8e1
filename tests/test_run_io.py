"""`verify run` as a whole process (issue 12 §1): input from a file or standard input, read in
chunks; the lookup-table tokenizer and the vectorized encoder agree with the reference ones;
long inputs are echoed abbreviated and without markup; traces only on request; what the
command line imports at startup."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verify.cli import main
from verify.crasp.interpreter import encode, symbol_ids, tokenize, tokenize_ids, tokens_of
from verify.problems import UserError

ROOT = Path(__file__).resolve().parents[1]
DYCK = str(ROOT / "examples" / "dyck1.crasp")
MAJ = str(ROOT / "examples" / "bin_majority.crasp")
SCRIPT = Path(sys.executable).parent / "verify"


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def reference_ids(alphabet, text):
    ids = symbol_ids(alphabet)
    return [ids[t] for t in tokenize(alphabet, text)]


# ------------------------------------------------------------------ tokenizer and encoder
@pytest.mark.parametrize("alphabet", [("(", ")"), ("0", "1", "2"), ("⟨", "⟩"), ("a", "<")])
def test_the_table_tokenizer_agrees_with_longest_match(alphabet):
    rng = np.random.default_rng(1)
    pieces = list(alphabet) + [" ", "\n", "\t", "\u00a0", "\u2003", "<end>"]
    for _ in range(200):
        text = "".join(rng.choice(pieces, size=int(rng.integers(0, 40))))
        try:
            want = reference_ids(alphabet, text)
        except UserError as err:
            with pytest.raises(UserError) as got:
                tokenize_ids(alphabet, text)
            assert got.value.message == err.message
            continue
        assert tokenize_ids(alphabet, text).tolist() == want, repr(text)


def test_a_character_outside_the_alphabet_is_located():
    for text, column in (("(()x)", 4), ("( ) é", 5), ("((\n)y", 5)):
        with pytest.raises(UserError, match=f"input column {column}:"):
            tokenize_ids(("(", ")"), text)
        with pytest.raises(UserError, match=f"input column {column}:"):
            tokenize(("(", ")"), text)


def test_multi_character_symbols_keep_the_longest_match():
    alphabet = ("<bos>", "0", "1", "<sep>", "<eos>")
    text = "<bos> 1 0 1 <sep>"
    assert tokens_of(alphabet, tokenize_ids(alphabet, text)) == ["<bos>", "1", "0", "1", "<sep>"]
    assert tokens_of(alphabet, tokenize_ids(alphabet, "<bos>101<sep>")) == ["<bos>", "1", "0", "1", "<sep>"]


def test_encode_matches_a_plain_lookup_and_rejects_unknown_symbols():
    alphabet = ("a", "b", "c")
    rng = np.random.default_rng(0)
    seqs = [list(rng.choice(list(alphabet), size=7)) for _ in range(50)]
    ids = symbol_ids(alphabet)
    assert encode(alphabet, seqs).tolist() == [[ids[t] for t in s] for s in seqs]
    assert encode(alphabet, []).shape == (0, 0)
    with pytest.raises(UserError, match="'d' at position 3"):
        encode(alphabet, [["a", "b", "d"]])
    with pytest.raises(UserError, match="0"):  # not the string "0"
        encode(("0", "1"), [[0, 1]])


# ------------------------------------------------------------------ input sources
def test_file_stdin_and_argument_give_the_same_answer(tmp_path, capsys, monkeypatch):
    import io
    text = "(()(()))" * 50 + "(" + ")"
    path = tmp_path / "in.txt"
    path.write_text(text[:150] + "\n" + text[150:] + "\n")
    _, by_arg, _ = cli(capsys, "run", DYCK, text, "--json")
    _, by_file, _ = cli(capsys, "run", DYCK, "--input-file", str(path), "--json")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    _, by_stdin, _ = cli(capsys, "run", DYCK, "-", "--json")
    assert json.loads(by_arg) == json.loads(by_file) == json.loads(by_stdin)
    assert json.loads(by_arg)["accepted"] is True


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_chunked_reading_never_splits_a_symbol(tmp_path, capsys, monkeypatch, chunk):
    from verify.commands import run as run_module
    monkeypatch.setattr(run_module, "_CHUNK", chunk)
    path = tmp_path / "seq.txt"
    path.write_text("<bos> 1 0\n1 1 <sep>")
    code, out, _ = cli(capsys, "run", MAJ, "--input-file", str(path), "--json")
    assert code == 0 and json.loads(out)["input"] == ["<bos>", "1", "0", "1", "1", "<sep>"]
    path.write_text("((()\n))é(")  # a two-byte character split across chunks, then a mistake
    code, _, err = cli(capsys, "run", DYCK, "--input-file", str(path))
    assert code == 2 and f"{path}:2:3: 'é" in err


@pytest.mark.parametrize("chunk", [5, 64, 1 << 22])
def test_a_file_is_read_into_one_buffer_with_the_same_ids(tmp_path, monkeypatch, chunk):
    """A regular file's ids go into one buffer sized by the file (no second copy when the chunks are joined):
    the same ids as tokenizing the whole text, with whitespace anywhere, and a view no longer than the input."""
    from verify.commands import run as run_module
    monkeypatch.setattr(run_module, "_CHUNK", chunk)
    rng = np.random.default_rng(7)
    text = "".join(rng.choice(list("()( ) \n"), size=5000))
    path = tmp_path / "in.txt"
    path.write_text(text)
    ids = run_module.read_input(("(", ")"), str(path), from_file=True)
    assert np.array_equal(ids, tokenize_ids(("(", ")"), text))


@pytest.mark.slow
def test_a_long_input_through_a_real_process(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=200_000)
    text = "".join(np.array(["(", ")"])[x])
    depth = np.cumsum(np.where(x == 0, 1, -1))
    proc = subprocess.run([str(SCRIPT), "run", DYCK, "-", "--json"], input=text, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accepted"] == bool(depth[-1] == 0 and depth.min() >= 0)
    (tmp_path / "in.txt").write_text(text)
    proc = subprocess.run([str(SCRIPT), "run", DYCK, "--input-file", str(tmp_path / "in.txt")],
                          capture_output=True, text=True, timeout=120)
    first = proc.stdout.splitlines()[0]
    assert proc.returncode == 0 and "200,000 symbols" in first and "symbols not shown" in first
    assert len(first) < 300


@pytest.mark.parametrize("args, needle", [
    (["run", DYCK, "--input-file", "{w}/missing.txt"], "no such input file"),
    (["run", DYCK, "--input-file", "{w}"], "is a folder"),
    (["run", DYCK, "--input-file", "{w}/binary.txt"], "not utf-8"),
    (["run", DYCK, "--input-file", "{w}/empty.txt"], "empty input"),
    (["run", DYCK, "()", "--input-file", "{w}/ok.txt"], "not both"),
    (["run", DYCK], "missing argument"),
    (["run", DYCK, "()", "--trace-file", "{w}"], "--trace-file"),
    (["run", DYCK, "()", "--trace-file", "{w}/ok.txt/x.tsv"], "--trace-file"),
    (["run", DYCK, "()", "--offset", "1e5"], "not a valid integer"),
    # issue 20: a FIFO or a device is refused at once (a FIFO without a writer used to block forever; a trace
    # file used to REPLACE the FIFO or device it named)
    (["run", DYCK, "--input-file", "{w}/pipe"], "not a regular file (a fifo"),
    (["run", DYCK, "--input-file", "/dev/zero"], "not a regular file (a device"),
    (["run", DYCK, "()", "--trace-file", "{w}/pipe"], "not a regular file"),
])
def test_bad_input_sources_exit_2_with_one_message(tmp_path, capsys, monkeypatch, args, needle):
    import signal
    (tmp_path / "binary.txt").write_bytes(b"(()\xff\xfe)")
    (tmp_path / "empty.txt").write_text(" \n")
    (tmp_path / "ok.txt").write_text("()")
    os.mkfifo(tmp_path / "pipe")
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    signal.alarm(30)    # a blocking open would hang: fail instead
    try:
        code, out, err = cli(capsys, *[a.replace("{w}", str(tmp_path)) for a in args])
    finally:
        signal.alarm(0)
    assert os.path.exists(tmp_path / "pipe") and not os.path.isfile(tmp_path / "pipe")
    assert code == 2 and needle in err.lower(), err
    assert sorted(os.listdir(tmp_path)) == before


# ------------------------------------------------------------------ printing and traces
def test_the_echo_is_plain_text(capsys):
    code, out, _ = cli(capsys, "run", DYCK, "([])"[0] + ")")
    assert code == 0 and out.splitlines()[0] == "input (2 symbols): ( )"
    brackets = ("a", "[", "]")
    assert tokens_of(brackets, tokenize_ids(brackets, "[a]")) == ["[", "a", "]"]


def test_trace_file_and_long_traces(tmp_path, capsys):
    text = "(" * 150 + ")" * 150
    target = tmp_path / "t" / "trace.tsv"
    code, out, _ = cli(capsys, "run", DYCK, text, "--trace-file", str(target))
    rows = target.read_text().splitlines()
    assert code == 0 and len(rows) == 301 and rows[0].startswith("position\ttoken")
    header = rows[0].split("\t")
    last = dict(zip(header, rows[-1].split("\t")))
    assert last["position"] == "300" and last["token"] == ")" and last["accept"] == "T"
    _, shown, _ = cli(capsys, "run", DYCK, text, "--trace")
    assert "\n".join(rows) in shown  # past 200 positions: the same rows, printed plainly
    _, short, _ = cli(capsys, "run", DYCK, "(())", "--trace")
    assert "trace (one row per position)" in short


def test_json_trace_keeps_exact_integers(tmp_path, capsys):
    path = tmp_path / "big.crasp"
    path.write_text(f'alphabet "0" "1"\nlet big = {2 ** 63} * #["1"]\naccept = big >= {2 ** 64}\n')
    code, out, _ = cli(capsys, "run", str(path), "1101", "--trace", "--json")
    data = json.loads(out)
    assert code == 0 and data["trace"]["big"] == [2 ** 63, 2 ** 64, 2 ** 64, 3 * 2 ** 63]
    assert data["outputs_at_last_position"]["accept"] is True


# ------------------------------------------------------------------ startup
def _imported(argv):
    code = ("import sys\nfrom verify.cli import main\nmain(%r)\n"
            "print(sorted(m for m in ('numpy', 'pydantic', 'rich', 'markdown_it', 'z3', 'torch') "
            "if m in sys.modules))" % (argv,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"'))


@pytest.mark.slow
def test_help_and_run_import_only_what_they_need():
    assert _imported(["--help"]) == []
    assert _imported(["run", DYCK, "(())"]) == ["numpy"]
