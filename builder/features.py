"""``datasets.Features`` derived from the JSON Schemas: the one converter, so no field is ever typed twice."""

from __future__ import annotations

from typing import Any

import datasets

from builder.sample import PUBLISHED_MEMBERS
from builder.contract import KIND_OF_CONFIG, load_schema, resolve

_SCALARS = {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool"}
_MEMBER_FEATURES = {"jpg": datasets.Image, "png": datasets.Image}


def _non_null_type(schema: dict[str, Any]) -> str:
    if "const" in schema:
        values = [schema["const"]]
    elif "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
    else:
        values = None
    if values is not None:
        kinds = {type(v) for v in values}
        if kinds == {str}:
            return "string"
        if kinds == {bool}:
            return "boolean"
        raise ValueError(f"enum/const of mixed or unsupported types: {values!r}")
    types = schema.get("type")
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    if len(types) != 1:
        raise ValueError(f"a field needs exactly one non-null type to become a feature, got {schema.get('type')!r}")
    return types[0]


def feature_of(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """The ``datasets`` feature of one JSON Schema node (objects -> dicts, arrays -> ``List``)."""
    schema = resolve(schema, root)
    kind = _non_null_type(schema)
    if kind == "object":
        return {name: feature_of(prop, root) for name, prop in schema["properties"].items()}
    if kind == "array":
        return datasets.List(feature_of(schema["items"], root))
    if kind in _SCALARS:
        return datasets.Value(_SCALARS[kind])
    raise ValueError(f"no feature for JSON type {kind!r}")


def record_features(kind: str) -> dict[str, Any]:
    """The struct of one record kind, as the ``json`` column holds it."""
    schema = load_schema(kind)
    return feature_of(schema, schema)


def row_features(config: str) -> datasets.Features:
    """Rows as the webdataset builder yields them: ``__key__``, ``__url__``, the published members, ``json``."""
    kind = KIND_OF_CONFIG[config]
    columns: dict[str, Any] = {"__key__": datasets.Value("string"), "__url__": datasets.Value("string")}
    for member in PUBLISHED_MEMBERS[kind]:
        columns[member] = _MEMBER_FEATURES[member.rsplit(".", 1)[-1]]()
    columns["json"] = record_features(kind)
    return datasets.Features(columns)
