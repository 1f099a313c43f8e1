"""A small validator for the subset of JSON Schema 2020-12 that docs/schemas/ uses, shared by the tests of
every command's --json. A schema using any other keyword fails, so a schema cannot silently say more than
the tests check. `$ref` is `#/$defs/NAME` (this file) or `FILE#/$defs/NAME` (a file beside it)."""
import json
import re
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


class SchemaError(AssertionError):
    pass


KEYWORDS = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "required",
            "properties", "additionalProperties", "propertyNames", "pattern", "items", "minItems", "maxItems",
            "minimum", "maximum", "anyOf"}
TYPES = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
         "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
         "null": lambda v: v is None,
         "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
         "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}


def load_schema(name: str) -> dict:
    """docs/schemas/NAME (e.g. "check.schema.json")."""
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _resolve(ref: str, root: dict):
    where, _, pointer = ref.partition("#")
    if where:
        root = load_schema(where)
    assert pointer.startswith("/$defs/"), ref
    return root["$defs"][pointer.split("/")[-1]], root


def validate(value, schema, root=None, path="$"):
    root = schema if root is None else root
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise SchemaError(f"schema keyword(s) {sorted(unknown)} at {path} are not implemented here")
    if "$ref" in schema:
        target, target_root = _resolve(schema["$ref"], root)
        validate(value, target, target_root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            raise SchemaError(f"{path}: {value!r} is not of type {types}")
    if "const" in schema and value != schema["const"]:
        raise SchemaError(f"{path}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{path}: {value!r} not in {schema['enum']}")
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, root, path)
                break
            except SchemaError as err:
                errors.append(str(err))
        else:
            raise SchemaError(f"{path}: no option of anyOf matches: {errors}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        raise SchemaError(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            raise SchemaError(f"{path}: {len(value)} items")
        if "items" in schema:
            for i, item in enumerate(value):
                validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{path}: missing {key!r}")
        props = schema.get("properties", {})
        for key, item in value.items():
            if "propertyNames" in schema:
                validate(key, schema["propertyNames"], root, f"{path} key {key!r}")
            if key in props:
                validate(item, props[key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                raise SchemaError(f"{path}: unexpected key {key!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(item, schema["additionalProperties"], root, f"{path}.{key}")
