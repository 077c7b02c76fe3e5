"""Import the paper authors' official sample format (``sample-en.json``) as frame records.

The file is a JSON object of cases (``"Case_1": {"Scene": [...], "BGM": [...], "Scene Description": ...,
"people": [...], "objects": [...]}``); keys and values are mapped by ``builder.aliases``. What the format lacks
(image, timing, detections, privacy, provenance...) stays ``null``/``[]``; ``video_id`` is ``"official"``.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

from builder.aliases import TYPE, AliasError, canonical_key, normalize
from builder.contract import blank
from builder.errors import SkyscriptError
from builder.sample import KEY_PATTERN
from builder.validation import schema_problems

VIDEO_ID = "official"


class OfficialFormatError(SkyscriptError, ValueError):
    """An official-format case that cannot be imported: ``case`` (or the file), a JSON ``path``, the reason."""

    def __init__(self, case: str, path: str | None, message: str) -> None:
        self.case, self.path, self.reason = case, path, message
        super().__init__(f"{case}: {path}: {message}" if path else f"{case}: {message}")


def _child(path: str, key: str | int) -> str:
    """JSON path of a member: ``$.people[0]["Shot Type"]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _fields(case: str, section: str, mapping: Any, path: str, lenient: bool) -> Iterator[tuple[str, Any, str]]:
    """``(schema name, raw value, JSON path)`` of each key of a section's object; unknown or repeated keys raise."""
    if not isinstance(mapping, dict):
        raise OfficialFormatError(case, path, f"a {section} must be a JSON object, got {type(mapping).__name__}")
    seen: dict[str, str] = {}
    for raw, value in mapping.items():
        where = _child(path, raw)
        try:
            target = canonical_key(section, raw, lenient=lenient)
        except AliasError as exc:
            raise OfficialFormatError(case, where, str(exc)) from exc
        if target is None:
            raise OfficialFormatError(case, where, f"unknown key {raw!r} in a {section}")
        if target in seen:
            raise OfficialFormatError(case, where, f"{raw!r} repeats {seen[target]!r} (both give {target})")
        seen[target] = raw
        yield target, value, where


def _value(case: str, section: str, target: str, value: Any, where: str) -> Any:
    """A field's normalized value; a value the table cannot map raises with the case and path."""
    try:
        return normalize(section, target, value)
    except AliasError as exc:
        raise OfficialFormatError(case, where, str(exc)) from exc


def _vad(case: str, value: Any, path: str, lenient: bool) -> dict[str, Any] | None:
    """``"Continuous Emotion": {"Valence (V)": .., "Arousal (A)": .., "Dominance (D)": ..}`` -> ``vad``."""
    if value is None:
        return None
    vad: dict[str, Any] = {"valence": None, "arousal": None, "dominance": None}
    for target, raw, where in _fields(case, "vad", value, path, lenient):
        vad[target] = _value(case, "vad", target, raw, where)
    return vad


def _person(case: str, item: Any, path: str, lenient: bool) -> dict[str, Any]:
    """One ``people`` item as the schema's person."""
    person = blank("frame", "person")
    for target, value, where in _fields(case, "person", item, path, lenient):
        if target == "vad":
            person["vad"] = _vad(case, value, where, lenient)
        elif target == "shot_type":
            person["shot_type"], person["layer"] = _value(case, "person", target, value, where)
        elif target == TYPE:
            _value(case, "person", target, value, where)  # only checks that it says "person"
        else:
            person[target] = _value(case, "person", target, value, where)
    return person


def _object(case: str, item: Any, path: str, lenient: bool) -> dict[str, Any]:
    """One ``objects`` item as the schema's object; it must have a name (``"object"``/``"Type"``)."""
    obj = blank("frame", "object")
    for target, value, where in _fields(case, "object", item, path, lenient):
        if target == "shot_type":
            obj["shot_type"], obj["layer"] = _value(case, "object", target, value, where)
        else:
            obj[target] = _value(case, "object", target, value, where)
    if obj["name"] is None:
        raise OfficialFormatError(case, path, 'an object needs a name ("object" or "Type")')
    return obj


def _list(case: str, value: Any, path: str) -> list[Any]:
    """``people``/``objects``: a list (``null`` counts as empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise OfficialFormatError(case, path, f"must be a list, got {type(value).__name__}")
    return value


def convert_case(name: str, case: dict[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """The frame record of one official case; unknown keys and unmappable values raise ``OfficialFormatError``.

    ``lenient`` matches keys case/space/punctuation-insensitively and accepts other spellings (a repair stage);
    unknown keys still raise.
    """
    record = blank("frame")
    record["video_id"] = VIDEO_ID
    for target, value, where in _fields(name, "frame", case, "$", lenient):
        if target == "people":
            record["people"] = [_person(name, item, _child(where, i), lenient)
                                for i, item in enumerate(_list(name, value, where))]
        elif target == "objects":
            record["objects"] = [_object(name, item, _child(where, i), lenient)
                                 for i, item in enumerate(_list(name, value, where))]
        else:
            record[target] = _value(name, "frame", target, value, where)
    return record


def _load(path: Path) -> dict[str, Any]:
    """The file's JSON object; repeated keys anywhere raise (``json`` would silently keep the last one)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise OfficialFormatError(str(path), None, f"key {key!r} appears twice in one JSON object")
            out[key] = value
        return out

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle, object_pairs_hook=pairs)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OfficialFormatError(str(path), None, f"not a JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise OfficialFormatError(str(path), "$", f"must be a JSON object of cases, got {type(data).__name__}")
    return data


def iter_official(path: str | os.PathLike[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(case name, frame record)`` of each case of an official file, in file order."""
    path = Path(path)
    for name, case in _load(path).items():
        if not KEY_PATTERN.fullmatch(name):
            raise OfficialFormatError(name, None, f"case name must match {KEY_PATTERN.pattern} to be a sample key")
        yield name, convert_case(name, case)


def _line(name: str, record: dict[str, Any]) -> str:
    """One JSONL row, ``{"__key__": name, "json": record}``, with sorted keys."""
    return json.dumps({"__key__": name, "json": record}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), allow_nan=False) + "\n"


def import_official(in_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> int:
    """Convert an official file to a JSONL of frame rows, validating each record; returns the record count.

    Written atomically (a temporary file beside ``out_path``, then ``os.replace``): on any error the previous
    output, if any, is left as it was.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    count = 0
    try:
        with open(tmp, "x", encoding="utf-8") as handle:
            for name, record in iter_official(in_path):
                problems = schema_problems(name, record, "frame")
                if problems:
                    raise OfficialFormatError(name, problems[0].path, f"invalid frame record: {problems[0].message}")
                handle.write(_line(name, record))
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return count
