"""The user's own tasks, added without editing the package (verify.catalogue): a file or folder of case
files through LENGTHGEN_VERIFY_CASES, add_cases_from or an entry point; every check a catalogue case gets;
located errors for bad case files; the catalogue is never shadowed by a `cases/` folder in the working
directory, and an empty catalogue is an error."""
import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from verify import catalogue
from verify.cli import main
from verify.problems import UserError

ROOT = Path(__file__).resolve().parents[1]

USER_CASES = '''
"""Two tasks of my own: a language with an automaton, and a sequence task."""
from verify.case import LANGUAGE, SEQUENCE, Case
from verify.crasp.parser import parse_program
from verify.spec import Automaton

HAS_A = Automaton.make(("a", "b"), {("n", "a"): "y", ("n", "b"): "n", ("y", "a"): "y", ("y", "b"): "y"},
                       "n", ["y"])

HAS_ONE = """
alphabet "<bos>" "0" "1" "<sep>" "y" "n" "<eos>"
next "y" = "<sep>" and #["1"] > 0
next "n" = "<sep>" and #["1"] == 0
next "<eos>" = not "<sep>"
"""


def sample_bits(rng, batch, n):
    return [tuple(row) for row in rng.choice(["0", "1"], size=(batch, n))]


CASES = [
    Case(name="my_has_a", family="user", format=LANGUAGE, alphabet=("a", "b"),
         description="strings over {a, b} with at least one a", labels=HAS_A.labels, spec=HAS_A,
         program=lambda: parse_program('alphabet "a" "b"\\naccept = #["a"] > 0', "my_has_a")),
    Case(name="my_has_one", family="user", format=SEQUENCE,
         alphabet=("<bos>", "0", "1", "<sep>", "y", "n", "<eos>"), input_alphabet=("0", "1"),
         description="y if the input has a 1, else n", answer=lambda x: ("y",) if "1" in x else ("n",),
         sampler=sample_bits, program=lambda: parse_program(HAS_ONE, "my_has_one")),
]
'''

# the same language with a wrong program: every command must see the user's case, not skip it
WRONG_CASE = USER_CASES.replace('accept = #["a"] > 0', 'accept = #["a"] > 1').replace(
    'CASES = [', 'CASES = [').replace('"my_has_a"', '"my_wrong_a"').replace('"my_has_one"', '"my_wrong_one"')


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    """Every test starts without user cases (the loaded-file memo is per path, so tmp files never collide)."""
    monkeypatch.delenv(catalogue.CASES_ENV, raising=False)
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "smt-cache.json"))
    catalogue.forget_added_cases()
    yield
    catalogue.forget_added_cases()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.slow
def test_a_user_case_file_gets_every_check_through_the_environment(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path, "my_tasks.py", USER_CASES)
    monkeypatch.setenv(catalogue.CASES_ENV, str(path))
    assert main(["cases", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert rows["my_has_a"]["family"] == "user" and rows["my_has_a"]["fragment"] == "plain"
    assert rows["my_has_one"]["format"] == "sequence" and "tomita1" in rows   # added to, not replacing
    for name in ("my_has_a", "my_has_one"):
        assert main(["check", name, "--json", "--samples", "40", "--budget", "4096"]) == 0
        assert json.loads(capsys.readouterr().out)["results"][0]["status"] == "holds"
    assert main(["prove", "my_has_a", "--json", "--timeout", "30"]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert proof["status"] == "holds" and "every word of every length" in proof["scope"]
    for name in ("my_has_a", "my_has_one"):
        assert main(["comm-complexity", name, "--N", "4", "--json", "--samples", "8", "--timeout", "10"]) == 0
        assert json.loads(capsys.readouterr().out)["verdict"].startswith("expressible")


@pytest.mark.slow
def test_user_cases_compile_to_certified_limit_transformers(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(catalogue.CASES_ENV, str(_write(tmp_path, "my_tasks.py", USER_CASES)))
    for name in ("my_has_a", "my_has_one"):
        assert main(["compile", name, "--N", "16", "--check-length", "3", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["status"] == "holds" and data["target"] == name


def test_a_wrong_user_program_is_refuted_like_a_catalogue_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(catalogue.CASES_ENV, str(_write(tmp_path, "wrong.py", WRONG_CASE)))
    assert main(["check", "my_wrong_a", "--json", "--samples", "10", "--budget", "256"]) == 1
    cex = json.loads(capsys.readouterr().out)["results"][0]["counterexample"]
    assert cex["input"].count("a") == 1          # one a: the reference accepts, the program does not
    assert main(["prove", "my_wrong_a", "--json", "--timeout", "30"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "refuted"


def test_add_cases_from_a_folder_is_idempotent_and_helpers_import(tmp_path, capsys):
    folder = tmp_path / "tasks"
    folder.mkdir()
    _write(folder, "_shared.py", "SUFFIX = '_x'\n")   # a helper: not a case file, importable by them
    _write(folder, "lang.py", USER_CASES.replace('"my_has_a"', '"my_has_a" + SUFFIX').replace(
        "from verify.spec import Automaton", "from verify.spec import Automaton\nfrom _shared import SUFFIX"))
    first = catalogue.add_cases_from(folder)
    again = catalogue.add_cases_from(str(folder))
    assert [c.name for c in first] == [c.name for c in again] == ["my_has_a_x", "my_has_one"]
    names = [c.name for c in catalogue.all_cases()]
    assert names.count("my_has_a_x") == 1 and names[-2:] == ["my_has_a_x", "my_has_one"]
    assert catalogue.case_origin("my_has_one") == str((folder / "lang.py").resolve())
    assert catalogue.case_origin("tomita1") == "cases/tomita.py"
    assert main(["check", "my_has_a_x", "--json", "--samples", "10", "--budget", "256"]) == 0
    catalogue.forget_added_cases()
    with pytest.raises(UserError, match="unknown case 'my_has_a_x'"):
        catalogue.get_case("my_has_a_x")


def test_the_environment_variable_takes_several_paths(tmp_path, monkeypatch):
    a = _write(tmp_path, "a.py", USER_CASES)
    b = _write(tmp_path, "b.py", WRONG_CASE)
    monkeypatch.setenv(catalogue.CASES_ENV, os.pathsep.join([str(a), "", str(b)]))
    names = {c.name for c in catalogue.all_cases()}
    assert {"my_has_a", "my_has_one", "my_wrong_a", "my_wrong_one"} <= names


BAD_FILES = [
    # (file text, what the one message must say)
    ("x = 1\n", "defines no CASES"),
    ("CASES = []\n", "CASES is empty"),
    ("CASES = 'tomita1'\n", "CASES must be a list"),
    ("CASES = [1]\n", "CASES[0]: is a int, not a verify.case.Case"),
    ("def f(:\n", ":1:7: syntax error in the case file"),
    ("import math\n\nraise ValueError('boom')\n", ":3: the case file raised ValueError: boom"),
    (USER_CASES.replace('"my_has_a"', '"tomita1"'), "'tomita1' is defined in both cases/tomita.py and"),
    (USER_CASES.replace('"my_has_a"', '"my has a"'), "the name must be letters"),
    (USER_CASES.replace('format=LANGUAGE', 'format="languages"'), "format must be 'language' or 'sequence'"),
    (USER_CASES.replace('labels=HAS_A.labels, ', ''), "a language case needs labels"),
    (USER_CASES.replace('sampler=sample_bits, ', ''), "a sequence case needs sampler"),
    (USER_CASES.replace('#["a"] > 0', '#["c"] > 0'), "its program"),
    (USER_CASES.replace('"y" "n" "<eos>"\nnext', '"y" "n" "<eos>" "z"\nnext'), "alphabet has ['z']"),
    (USER_CASES.replace('program=lambda: parse_program(HAS_ONE, "my_has_one")', 'program=None'),
     "give a program, or no_program_reason"),
    # issue 20: an exit while loading is a mistake in the file, never a verdict (0 "holds", 1 "refuted")
    ("import sys\n\nsys.exit(1)\n", ":3: the case file called sys.exit(1) while it was loaded"),
    ("import sys\nsys.exit(0)\n", "called sys.exit(0)"),
]


@pytest.mark.parametrize("text,message", BAD_FILES)
def test_a_bad_case_file_is_one_located_message(tmp_path, monkeypatch, capsys, text, message):
    path = _write(tmp_path, "bad.py", text)
    with pytest.raises(UserError) as err:
        catalogue.add_cases_from(path)
    assert message in err.value.render() and str(path) in err.value.render()
    assert [c.name for c in catalogue.all_cases()].count("tomita1") == 1   # nothing was added
    monkeypatch.setenv(catalogue.CASES_ENV, str(path))
    assert main(["cases"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""


@pytest.mark.parametrize("where,message", [("missing.py", "no such file or folder"),
                                           ("notes.txt", "a case file is a Python file"),
                                           ("empty_folder", "the folder has no case files")])
def test_bad_paths_in_the_environment_variable(tmp_path, monkeypatch, capsys, where, message):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty_folder").mkdir()
    monkeypatch.setenv(catalogue.CASES_ENV, str(tmp_path / where))
    assert main(["check", "tomita1"]) == 2
    err = capsys.readouterr().err
    assert message in err and catalogue.CASES_ENV in err and "Traceback" not in err


def test_two_user_files_with_one_name_name_both_files(tmp_path):
    a = _write(tmp_path, "a.py", USER_CASES)
    b = _write(tmp_path, "b.py", USER_CASES)
    catalogue.add_cases_from(a)
    with pytest.raises(UserError, match=f"'my_has_a' is defined in both {a.resolve()} and {b.resolve()}"):
        catalogue.add_cases_from(b)
    assert len(catalogue.all_cases()) == len(catalogue._load()) + 2   # b was not added


def test_entry_points_add_cases(tmp_path, monkeypatch):
    _write(tmp_path, "my_plugin_cases.py", USER_CASES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(catalogue, "_entry_points",
                        lambda: (EntryPoint("mine", "my_plugin_cases", catalogue.ENTRY_POINT_GROUP),))
    catalogue._entry_point_cases.cache_clear()
    try:
        assert {"my_has_a", "my_has_one"} <= {c.name for c in catalogue.all_cases()}
        assert catalogue.case_origin("my_has_a").startswith("entry point mine = my_plugin_cases")
        monkeypatch.setattr(catalogue, "_entry_points",
                            lambda: (EntryPoint("broken", "no_such_module_xyz", catalogue.ENTRY_POINT_GROUP),))
        catalogue._entry_point_cases.cache_clear()
        with pytest.raises(UserError, match="entry point broken = no_such_module_xyz .*ModuleNotFoundError"):
            catalogue.all_cases()
    finally:
        catalogue._entry_point_cases.cache_clear()


@pytest.mark.slow
def test_a_cases_folder_in_the_working_directory_does_not_shadow_the_catalogue(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "__init__.py").write_text("SHADOW = True\n")
    code = ("import sys, json; sys.path.insert(0, '')\n"
            "import cases; assert cases.SHADOW\n"            # the user's own package, imported first
            "from verify.catalogue import all_cases\n"
            "names = [c.name for c in all_cases()]\n"
            "assert 'tomita1' in names and len(names) > 20, names\n"
            "import cases; assert cases.SHADOW, 'the user package was replaced'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "cases", "--json"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["results"]) == len(catalogue._load())


def test_an_empty_catalogue_is_an_error(tmp_path, monkeypatch, capsys):
    import cases
    empty = tmp_path / "cases"
    empty.mkdir()
    monkeypatch.setattr(cases, "__path__", [str(empty)])
    catalogue._load.cache_clear()
    try:
        assert main(["cases"]) == 2
        err = capsys.readouterr().err
        assert "has no cases" in err and "reinstall" in err
    finally:
        catalogue._load.cache_clear()


def test_an_edited_case_file_is_read_again(tmp_path):
    path = _write(tmp_path, "mine.py", USER_CASES)
    catalogue.add_cases_from(path)
    assert catalogue.get_case("my_has_a").description == "strings over {a, b} with at least one a"
    path.write_text(USER_CASES.replace("with at least one a", "containing an a"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))   # a later edit, whatever the clock's grain
    assert catalogue.get_case("my_has_a").description == "strings over {a, b} containing an a"


def test_a_flag_can_name_itself_in_the_message(tmp_path):
    with pytest.raises(UserError, match=r"^--cases .*missing\.py: no such file or folder"):
        catalogue.add_cases_from(tmp_path / "missing.py", where="--cases ")


def test_the_global_cases_flag_adds_the_file_for_that_run_only(tmp_path, capsys):
    path = _write(tmp_path, "my_tasks.py", USER_CASES)
    assert main(["--cases", str(path), "check", "my_has_a", "--json", "--samples", "20", "--budget", "1024"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["status"] == "holds"
    assert main(["check", "my_has_a"]) == 2          # the next run without the flag does not see it
    assert "my_has_a" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["nope.py", "."])
def test_the_global_cases_flag_with_a_bad_path_is_one_message(tmp_path, monkeypatch, capsys, where):
    monkeypatch.chdir(tmp_path)
    assert main(["--cases", where, "cases"]) == 2
    err = capsys.readouterr().err
    assert "--cases" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 3


def test_an_exit_inside_a_user_reference_is_not_a_verdict(tmp_path, monkeypatch, capsys):
    """Issue 20: a reference that calls sys.exit while a command runs it must not become exit 0 or 1."""
    text = USER_CASES.replace("labels=HAS_A.labels", "labels=quit_now").replace(
        "def sample_bits", "def quit_now(ids):\n    import sys\n    sys.exit(1)\n\n\ndef sample_bits")
    path = _write(tmp_path, "quits.py", text)
    monkeypatch.setenv(catalogue.CASES_ENV, str(path))
    assert main(["check", "my_has_a", "--samples", "4", "--budget", "64"]) == 2
    err = capsys.readouterr().err
    assert "sys.exit(1) was called outside the toolkit" in err and str(path) in err


def test_the_help_says_case_files_and_references_are_executed(capsys):
    main(["--help"])
    assert "EXECUTED as Python code, like a conftest.py" in " ".join(capsys.readouterr().out.split())
    main(["comm-complexity", "--help"])
    assert "RUNS your code" in " ".join(capsys.readouterr().out.split())
