"""Every command's --json: one object with `schema_version` and `command` first (a list answer under `results`),
valid against its published schema docs/schemas/COMMAND.schema.json (tests/json_schema.py's validator, and
the metaschema of JSON Schema 2020-12 when the jsonschema package is installed)."""
import json
from pathlib import Path

import pytest

from json_schema import KEYWORDS, SCHEMAS, SchemaError, load_schema, validate
from verify.cli import _register_commands, app, main
from verify.verdict import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LENGTHGEN_VERIFY_CACHE", str(tmp_path / "smt-cache.json"))


def command_names():
    _register_commands()
    return sorted((c.name or c.callback.__name__).replace("_", "-") for c in app.registered_commands)


def shown(capsys, *args, codes=(0,)):
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code in codes, err
    doc = json.loads(out)
    assert list(doc)[:2] == ["schema_version", "command"] and doc["schema_version"] == SCHEMA_VERSION
    validate(doc, load_schema(f"{doc['command']}.schema.json"))
    return doc


def test_every_command_has_a_json_option_and_a_schema():
    names = command_names()
    assert {p.name for p in SCHEMAS.glob("*.schema.json")} == {f"{n}.schema.json" for n in names} | {"common.schema.json"}
    for command in app.registered_commands:
        import inspect
        options = [p.default for p in inspect.signature(command.callback).parameters.values()]
        assert any("--json" in (getattr(o, "param_decls", None) or ()) for o in options), command.name


def _subschemas(schema):
    """Every schema object inside `schema` (the values of properties/$defs maps, items, anyOf, ...)."""
    yield schema
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for sub in value.values():
                yield from _subschemas(sub)
        elif key in ("items", "additionalProperties", "propertyNames") and isinstance(value, dict):
            yield from _subschemas(value)
        elif key == "anyOf":
            for sub in value:
                yield from _subschemas(sub)


def test_the_schemas_are_json_schema_2020_12_within_what_the_validator_checks():
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        for sub in _subschemas(schema):
            assert set(sub) <= KEYWORDS, (path.name, set(sub) - KEYWORDS)
        try:
            import jsonschema
        except ImportError:
            continue
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_core_commands_print_their_schema(capsys, tmp_path):
    assert len(shown(capsys, "cases")["results"]) >= 30
    assert shown(capsys, "run", "dyck1", "(()", "--trace")["trace"]["position"] == [1, 2, 3]
    assert shown(capsys, "run", "bin_majority", "0 1 1")["correct"] is True
    doc = shown(capsys, "check", "tomita4", "--max-len", "4", "--samples", "10")
    assert [r["case"] for r in doc["results"]] == ["tomita4"]
    shown(capsys, "check", str(EX / "tomita3_wrong.crasp"), "--case", "tomita3", "--samples", "0", "--max-len", "6",
          codes=(1,))
    assert shown(capsys, "refute", str(EX / "tomita3_wrong.crasp"), "--spec", "tomita3", codes=(1,))["counterexample"]
    assert shown(capsys, "prove", "tomita1")["status"] == "holds"
    shown(capsys, "equiv", "tomita1", "tomita1")
    assert shown(capsys, "mutate", "tomita1")["mutants"] >= 1
    assert shown(capsys, "classify", "(aa)*", "--budget", "0", codes=(3,))["crasp_periodic_local"] is None
    listing = tmp_path / "languages.txt"
    listing.write_text("a*b*\n(aa)*\n")
    doc = shown(capsys, "classify", str(listing), "--budget", "0", codes=(3,))
    assert [r["regex"] for r in doc["results"]] == ["a*b*", "(aa)*"]
    shown(capsys, "conditions", "onehot", "--period", "4")
    shown(capsys, "comm-complexity", "parity", "--N", "4", "--method", "rows", codes=(0, 1, 3))
    assert shown(capsys, "compile", "tomita1", "--N", "8", "--check-length", "2")["finite"]["N"] == 8


def test_report_and_theorems_print_their_schema(capsys, monkeypatch):
    import theorems
    from theorems.theorem12 import addition_corollary
    assert shown(capsys, "report", "--no-extra", "--samples", "5", "--budget", "64")["tasks"]
    monkeypatch.setattr(theorems, "discover", lambda: [("theorem12", addition_corollary)])   # one quick check
    doc = shown(capsys, "theorems")
    assert [r["module"] for r in doc["results"]] == ["theorem12"]


@pytest.mark.torch
@pytest.mark.slow
def test_the_torch_commands_print_their_schema(capsys, tmp_path):
    pytest.importorskip("torch")
    tiny = ["--layers", "1", "--heads", "1", "--d", "8", "--lr", "1e-3", "--steps", "2", "--eval-samples", "4"]
    doc = shown(capsys, "train", "bin_majority", *tiny, "--out", str(tmp_path / "t"))
    assert doc["saved"] == str(tmp_path / "t")
    doc = shown(capsys, "audit", str(tmp_path / "t"), codes=(0, 1, 3))
    assert all(doc[k] is None for k in ("task", "theory", "prediction", "measured", "side_by_side"))
    assert shown(capsys, "sweep", "bin_majority", *tiny, "--seeds", "1", "--pe", "ape", "--dry-run")["runs"] == 1
    doc = shown(capsys, "sweep", "bin_majority", *tiny, "--seeds", "1", "--pe", "ape", "--workers", "1",
                "--out", str(tmp_path / "s"))
    assert len(doc["results"]) == 1


def test_audit_schema_leaves_the_task_keys_open():
    schema = load_schema("audit.schema.json")
    base = {"schema_version": SCHEMA_VERSION, "command": "audit", "source": "x", "verdict": "neither", "heads": [],
            "thresholds": {}, "shape": {}, "conditions": ""}
    validate(base, schema)
    validate({**base, "task": {"name": "tomita5", "anything": [1]}, "prediction": {"generalizes": None},
              "measured": None, "theory": {"expressible": False}, "side_by_side": "predicted …"}, schema)
    with pytest.raises(SchemaError, match="is not of type"):
        validate({**base, "prediction": 3}, schema)


def test_a_document_without_its_envelope_is_refused():
    schema = load_schema("check.schema.json")
    with pytest.raises(SchemaError, match="missing 'schema_version'"):
        validate({"command": "check", "results": []}, schema)
    with pytest.raises(SchemaError, match="!= 'check'"):
        validate({"schema_version": SCHEMA_VERSION, "command": "prove", "results": []}, schema)
    with pytest.raises(SchemaError, match="is not of type"):
        validate({"schema_version": SCHEMA_VERSION, "command": "check", "results": {}}, schema)
