"""verify.api: the documented facade. Its page (docs/api.md) and docstrings run as doctests; every
function returns what the command prints (the same as_dict() as the command's --json); every kind of
target resolves to the same program; mistakes are UserErrors; importing it never imports torch."""
import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify import api, catalogue
from verify.case import Case
from verify.cli import main
from verify.crasp import ast as A
from verify.problems import UserError

ROOT = Path(__file__).resolve().parents[1]
DYCK = (ROOT / "examples" / "dyck1.crasp").read_text()


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "smt-cache.json"))
    monkeypatch.delenv(catalogue.CASES_ENV, raising=False)
    yield
    catalogue.forget_added_cases()


def cli_json(capsys, *args):
    """(exit code, the --json document without its envelope: what the API's as_dict() gives)."""
    code = main([*args, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc.pop("schema_version") == 1 and doc.pop("command") == args[0]
    return code, doc.get("results", doc) if set(doc) == {"results"} else doc


@pytest.mark.slow
def test_the_api_page_runs():
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 30 and result.failed == 0


@pytest.mark.slow
def test_the_api_docstrings_run():
    result = doctest.testmod(api)
    assert result.attempted >= 15 and result.failed == 0


def test_importing_the_api_imports_neither_torch_nor_the_cli():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from verify import api\n"
            "assert api.run('dyck1', '(())').accepted\n"
            "assert api.check('dyck1', max_len=4, samples=10).ok\n"
            "bad = [m for m in ('torch', 'typer', 'z3') if m in sys.modules]\n"
            "assert not bad, bad\n" % str(ROOT))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_kind_of_target_is_the_same_program(tmp_path):
    path = tmp_path / "dyck.crasp"
    path.write_text(DYCK)
    program = api.load(path)
    targets = ["dyck1", api.case("dyck1"), str(path), path, DYCK, program, api.parse(DYCK)]
    runs = {json.dumps(api.run(t, "(()))(").as_dict()["outputs_at_last_position"]) for t in targets}
    assert runs == {json.dumps({"accept": False})}
    assert isinstance(program, A.Program) and program.alphabet == ("(", ")")
    with pytest.raises(UserError, match="no such program file"):
        api.load(tmp_path / "missing.crasp")
    with pytest.raises(UserError, match="unknown case 'dyk1'; did you mean dyck1"):
        api.run("dyk1", "()")
    with pytest.raises(UserError, match="has no C-RASP program"):
        api.run("parity", "0 1")
    with pytest.raises(UserError, match="expected a case name"):
        api.run(42, "()")


def test_parse_reports_where(tmp_path):
    with pytest.raises(UserError) as err:
        api.parse('alphabet "a"\naccept = #["b"] > 0', "mine.crasp")
    assert "mine.crasp:2:12" in err.value.render()


def test_run_is_what_the_command_prints(capsys):
    for target, text in (("dyck1", "(())"), ("bin_majority", "1 0 0"), ("aa_star", "aaa")):
        code, shown = cli_json(capsys, "run", target, text)
        assert code == 0 and api.run(target, text).as_dict() == shown
    code, shown = cli_json(capsys, "run", "dyck1", "(()", "--trace", "--acceptance", "end")
    assert api.run("dyck1", "(()", trace=True, acceptance="end").as_dict() == shown
    r = api.run("bin_majority", ["<bos>", "0", "0", "1", "<sep>"])
    assert r.generated == ("0", "<eos>") and r.correct
    with pytest.raises(UserError, match="empty input"):
        api.run("dyck1", "")
    with pytest.raises(UserError, match="acceptance must be one of"):
        api.run("dyck1", "()", acceptance="first")


def test_check_is_what_the_command_prints(capsys):
    code, shown = cli_json(capsys, "check", "tomita4", "--max-len", "8", "--samples", "30")
    v = api.check("tomita4", max_len=8, samples=30)
    assert code == 0 and {"case": "tomita4", **v.as_dict()} == shown[0]
    wrong = ROOT / "examples" / "tomita3_wrong.crasp"
    code, shown = cli_json(capsys, "check", str(wrong), "--case", "tomita3", "--samples", "0", "--max-len", "8")
    v = api.check(wrong, case=api.case("tomita3"), samples=0, max_len=8)
    assert code == 1 and v.status == "refuted" and v.as_dict() == {k: x for k, x in shown[0].items() if k != "case"}
    with pytest.raises(UserError, match="say which task"):
        api.check(DYCK)
    with pytest.raises(UserError, match="samples"):
        api.check("dyck1", samples=-1)


def _timeless(x):
    """x without wall-clock fields (two runs of one computation differ only there)."""
    if isinstance(x, dict):
        return {k: _timeless(v) for k, v in x.items() if k not in ("seconds", "wall_s")}
    if isinstance(x, list):
        return [_timeless(v) for v in x]
    return x


def _claim(d):
    return {k: d[k] for k in ("status", "claim", "method", "scope", "counterexample")}


@pytest.mark.slow
def test_refute_prove_equiv_are_what_the_commands_print(capsys, tmp_path):
    wrong = tmp_path / "wrong.crasp"
    wrong.write_text('alphabet "(" ")"\naccept = #["("] == #[")"]')
    code, shown = cli_json(capsys, "refute", str(wrong), "--spec", "dyck1", "--max-len", "6")
    v = api.refute(wrong, spec="dyck1", max_len=6)
    assert code == 1 and _claim(v.as_dict()) == _claim(shown) and v.counterexample.input == (")", "(")
    assert api.refute(str(wrong), spec=api.case("dyck1").spec, max_len=6).status == "refuted"
    code, shown = cli_json(capsys, "prove", "tomita7")
    v = api.prove("tomita7")
    assert code == 0 and _claim(v.as_dict()) == _claim(shown) and v.evidence["invariant"]
    assert api.prove(wrong, spec="dyck1").status == "refuted"
    code, shown = cli_json(capsys, "equiv", "dyck1", str(ROOT / "examples" / "dyck1.crasp"))
    v = api.equiv("dyck1", ROOT / "examples" / "dyck1.crasp")
    assert code == 0 and _claim(v.as_dict()) == _claim(shown)
    assert api.equiv(wrong, "dyck1").status == "refuted"
    assert api.equiv('alphabet "a"\naccept = #["a"] < 0', empty=True).status == "holds"
    with pytest.raises(UserError, match="give spec="):
        api.prove(DYCK)
    with pytest.raises(UserError, match="give two programs"):
        api.equiv("dyck1")
    with pytest.raises(UserError, match="timeout"):
        api.refute("dyck1", timeout=float("nan"))


@pytest.mark.slow
def test_compile_is_what_the_command_prints(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LENGTHGEN_VERIFY_MEMORY", "256M")   # a shorter long-length check, for both
    code, shown = cli_json(capsys, "compile", "tomita1", "--N", "16", "--check-length", "3")
    r = api.compile("tomita1", N=16, check_length=3)
    mine = r.as_dict()
    assert code == 0 and r.status == "holds" and set(mine) == set(shown)
    for key in ("target", "status", "finite", "regularizers", "output_keys", "hardness", "float64_limit"):
        assert mine[key] == shown[key], key
    out = tmp_path / "t16.npz"
    r = api.compile("tomita1", N=16, check_length=2, out=out, check_memory=1 << 22)
    assert out.is_file() and r.as_dict()["out"] == str(out)
    with pytest.raises(UserError, match="N must be"):
        api.compile("tomita1", N=0)
    with pytest.raises(UserError, match="comparison"):
        api.compile("tomita1", comparison="sigmoid")
    with pytest.raises(UserError):
        api.compile("tomita1", out=tmp_path / "weights.txt")
    assert not (tmp_path / "weights.txt").exists()


def test_comm_complexity_is_what_the_command_prints(capsys):
    code, shown = cli_json(capsys, "comm-complexity", "parity", "--N", "4", "--method", "rows")
    rep = api.comm_complexity("parity", N=4, method="rows")
    assert code == 3 and _timeless(json.loads(json.dumps(rep.as_dict(), default=str))) == _timeless(shown)
    assert api.comm_complexity(api.case("repeat_copy"), N=4).verdict == "not expressible"
    with pytest.raises(UserError, match="unknown method"):
        api.comm_complexity("parity", N=4, method="guess")


def test_classify_is_what_the_command_prints(capsys):
    for target in ("a*b*", "tomita5"):
        code, shown = cli_json(capsys, "classify", target, "--budget", "0")
        c = api.classify(target, budget=0)
        mine = c.as_dict()
        assert code == 0
        assert _timeless(mine) == _timeless(shown)
    assert api.classify(api.case("tomita5").spec, budget=0).crasp.value is False
    with pytest.raises(UserError, match="not given by a finite automaton"):
        api.classify("parity")
    with pytest.raises(UserError, match="acceptance"):
        api.classify("a*", acceptance="first")


def test_user_cases_through_the_api(tmp_path):
    from test_user_cases import USER_CASES
    path = tmp_path / "mine.py"
    path.write_text(USER_CASES)
    added = api.add_cases(path)
    assert [c.name for c in added] == ["my_has_a", "my_has_one"] and all(isinstance(c, Case) for c in added)
    assert api.case("my_has_a") in api.cases()
    assert api.check("my_has_one", max_len=6, samples=20).status == "holds"
    assert api.prove("my_has_a").status == "holds"
    assert api.classify("my_has_a", budget=0).crasp.value is True


def test_audit_without_torch_says_how_to_get_it(tmp_path):
    code = ("import sys; sys.path.insert(0, %r); sys.modules['torch'] = None\n"
            "from verify import api\n"
            "from verify.problems import UserError\n"
            "try:\n"
            "    api.audit(%r)\n"
            "except UserError as err:\n"
            "    assert \"pip install 'lengthgen-verify[torch]'\" in err.render(), err.render()\n"
            "else:\n"
            "    raise SystemExit('no error')\n" % (str(ROOT), str(tmp_path)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.torch
def test_audit_is_what_the_command_prints(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from torch_bridge.checkpoint import save_pretrained
    from torch_bridge.config import GPT2Config
    from torch_bridge.model import GPT2
    torch.manual_seed(0)
    model = GPT2(GPT2Config(vocab_size=5, n_positions=32, n_embd=16, n_layer=1, n_head=2)).eval()
    folder = tmp_path / "model"
    save_pretrained(model, folder)
    code, shown = cli_json(capsys, "audit", str(folder))
    report = api.audit(str(folder))
    envelope = ("plots", "schema_version", "command")
    assert code == report.exit_code and report.as_dict() == {k: v for k, v in shown.items() if k not in envelope}
    assert report.verdict == shown["verdict"]
    with pytest.raises(UserError, match="residual"):
        api.audit(folder, residual=2.0)
    compiled = tmp_path / "t16.npz"                    # compile --out's T_N: PERIODIC and LOCAL by construction
    api.compile("tomita1", N=16, check_length=2, out=compiled, check_memory=1 << 22)
    code, shown = cli_json(capsys, "audit", str(compiled))
    report = api.audit(str(compiled))
    assert code == 0 and report.verdict == "periodic+local"
    assert report.as_dict() == {k: v for k, v in shown.items() if k not in envelope}


@pytest.mark.slow
def test_the_readme_python_example_is_true(monkeypatch):
    """README.md's "Python API" block: each `api....` line gives the value its comment shows."""
    import re
    monkeypatch.setenv("LENGTHGEN_VERIFY_MEMORY", "256M")
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Python API.*?```python\n(.*?)```", text, flags=re.S).group(1)
    namespace: dict = {}
    checked = 0
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        if not code.startswith("api."):
            exec(code, namespace)
            continue
        value = eval(code, namespace)
        shown = comment.strip().split(":")[0]
        if shown:
            assert repr(value) == shown, (code, value, shown)
            checked += 1
        else:
            assert value == "holds", (code, value)
    assert checked >= 3


def test_run_refuses_symbols_outside_the_alphabet():
    with pytest.raises(UserError, match="column 2: 'x\\)' does not start with a symbol"):
        api.run("dyck1", "(x)")
    with pytest.raises(UserError, match="input symbol 'x' is not in the program's alphabet"):
        api.run("dyck1", ["(", "x"])


def test_classify_reads_files_as_the_command_does(tmp_path):
    listing = tmp_path / "languages.txt"
    listing.write_text("# two languages\na*b*\n(aa)*\n")
    found = api.classify(listing, budget=0)
    assert [c.regex for c in found] == ["a*b*", "(aa)*"] and [c.crasp.value for c in found] == [True, False]
    with pytest.raises(UserError, match="no such file"):
        api.classify(tmp_path / "missing.dfa")
    with pytest.raises(UserError, match="budget"):
        api.classify("a*", budget=-1)


def test_all_names_the_public_api_and_result_fields_are_the_json_keys(tmp_path):
    """`verify.api.__all__` is what the module offers (the functions and result classes defined there, less the
    command line's own compile_pipeline), and every key of a result's JSON is also its attribute."""
    import inspect
    defined = {n for n, v in vars(api).items() if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v))
               and v.__module__ == api.__name__}
    assert set(api.__all__) == defined - {"compile_pipeline"} and all(hasattr(api, n) for n in api.__all__)
    results = [api.run("dyck1", "(()", trace=True), api.run("bin_majority", "0 1 1"),
               api.check("tomita4", max_len=4, samples=5), api.prove("tomita1"),
               api.compile("tomita1", N=8, check_length=2, long_seconds=0),
               api.comm_complexity("parity", N=4, method="rows"), api.classify("a*b*", budget=0)]
    for result in results:
        for key in result.as_dict():   # the attribute may be the richer object the JSON summarizes
            assert hasattr(result, key), (type(result).__name__, key)
    assert results[4].float64_limit == results[4].as_dict()["float64_limit"] and results[5].N == 4
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        results[4].nonexistent
