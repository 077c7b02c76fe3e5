"""The record contract: the JSON Schemas in ``schema/``, one per record kind, and what derives from them."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1.6"

#: a box as records store it: ``[x0, y0, x1, y1]`` in pixels of the stored image
Box = list[float]

#: record kind -> dataset config name (the folder of its shards in a dataset folder)
CONFIG_OF_KIND: dict[str, str] = {
    "frame": "frames",
    "shooting_script": "shooting_scripts",
    "highlight_curve": "highlight_curves",
    "pair": "pairs",
}
KIND_OF_CONFIG: dict[str, str] = {config: kind for kind, config in CONFIG_OF_KIND.items()}
KINDS: tuple[str, ...] = tuple(CONFIG_OF_KIND)
#: the annotation stages in pipeline order (``annotate.<name>``; ``skyscript run`` runs them in this order)
STAGES: tuple[str, ...] = ("keyframes", "privacy", "extract", "repair", "calibrate", "dialogue", "script",
                           "highlight", "restore")
#: schemas of working files that are not records (per-video files: ``builder.video_files``)
AUXILIARY_SCHEMAS: tuple[str, ...] = ("shots", "signals", "characters")


def schema_dir() -> Path:
    """Folder holding ``<kind>.schema.json``: the installed ``builder.schemas`` package, else the checkout's ``schema/``."""
    try:
        return Path(str(resources.files("builder.schemas")))
    except ModuleNotFoundError:  # running from a checkout: schema/ sits beside builder/
        return Path(__file__).resolve().parent.parent / "schema"


@cache
def _load(kind: str) -> dict[str, Any]:
    if kind not in CONFIG_OF_KIND and kind not in AUXILIARY_SCHEMAS:
        raise KeyError(f"unknown record kind {kind!r}; known kinds: {', '.join(KINDS)}")
    path = schema_dir() / f"{kind}.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def load_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one record kind (a copy: callers may not change the cached one)."""
    return copy.deepcopy(_load(kind))


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/definitions/name``) inside ``root``."""
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def blank(kind: str, definition: str | None = None) -> dict[str, Any]:
    """A record (or a ``definitions`` item such as ``person``) with every key present and unknown.

    Scalars and objects are ``None``, lists ``[]``, ``kind``/``schema_version`` their constants. Stages and the
    importer start from this and fill what they know, so every record carries the same keys.
    """
    root = _load(kind)
    node = root if definition is None else resolve(root["definitions"][definition], root)
    out: dict[str, Any] = {}
    for name, prop in node["properties"].items():
        prop = resolve(prop, root)
        types = prop.get("type")
        types = types if isinstance(types, list) else [types]
        if "const" in prop:
            out[name] = prop["const"]
        elif "array" in types and "null" not in types:
            out[name] = []
        else:
            out[name] = None
    return out


def provenance_entry(stage: str, **fields: Any) -> dict[str, Any]:
    """One ``provenance`` item: the schema's blank with ``stage`` and the given fields (``model``, ``revision``,
    ``prompt_sha``, ``settings_sha``); an unknown field is an error."""
    entry = blank("frame", "provenance")
    unknown = set(fields) - set(entry)
    if unknown:
        raise KeyError(f"provenance has no field(s) {sorted(unknown)}; fields: {sorted(entry)}")
    entry.update(stage=stage, **fields)
    return entry


def format_timestamp(seconds: float) -> str:
    """A record's ``timestamp``: ``7.759`` -> ``00:00:07:759`` (HH:MM:SS:mmm, as in the paper's Figure 1)."""
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{millis:03d}"
