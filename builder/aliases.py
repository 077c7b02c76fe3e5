"""The official release format's key aliases and value normalizers, in one table.

The paper authors' sample files (``sample-en.json``) and the paper's Tables 4-5 spell keys like ``"Shot Type"``,
``"Continuous Emotion"``/``"Valence (V)"`` and give numbers as numbers or strings. ``ALIASES`` maps each section's
keys to the frame schema's names; the ``normalize_*`` functions turn values into what the schema expects and
raise ``BadValueError`` when they cannot. The importer (``builder.official``) matches keys strictly; a JSON-repair
stage can pass ``lenient=True`` to match case/space/underscore/punctuation-insensitively and accept other spellings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

#: sections of the format: the frame (one case), a person, an object, and Continuous Emotion (V/A/D)
SECTIONS: tuple[str, ...] = ("frame", "person", "object", "vad")
#: the person section's ``"object"``/``"Type"`` key: not a field, its value must be ``"person"``
TYPE = "type"


class AliasError(ValueError):
    """A key or value of the official format that the table cannot map."""


class UnknownKeyError(AliasError):
    """A key the table does not know, in a given section."""

    def __init__(self, section: str, key: str, where: str | None = None) -> None:
        self.section, self.key, self.where = section, key, where
        known = ", ".join(repr(k) for f in ALIASES[section] for k in f.official)
        super().__init__(f"unknown key {key!r} in {where or 'a ' + section} (a {section} knows {known})")


class BadValueError(AliasError):
    """A value that cannot be normalized to what the schema expects."""


@dataclass(frozen=True)
class Alias:
    """One field: its schema name, the release's exact spellings, more spellings for lenient matching."""

    target: str
    official: tuple[str, ...]
    also: tuple[str, ...] = ()


#: section -> fields; ``official`` spellings are exact (strict mode), ``also`` only count in lenient mode
ALIASES: dict[str, tuple[Alias, ...]] = {
    "frame": (
        Alias("scene", ("Scene",)),
        Alias("bgm", ("BGM",), ("music", "background music")),
        Alias("description", ("Scene Description",), ("description",)),
        Alias("people", ("people",), ("persons", "characters", "person")),
        Alias("objects", ("objects",), ("object",)),
        Alias("timestamp", ("Timestamp",), ("time stamp",)),
    ),
    "person": (
        Alias(TYPE, ("object", "Type")),
        Alias("name", (), ("character", "character name")),  # not in the release: a model may give one
        Alias("age", ("Age",)),
        Alias("gender", ("Gender",), ("sex",)),
        Alias("looks", ("Looks",), ("appearance",)),
        Alias("emotion", ("Emotion",)),
        Alias("actions", ("Actions",), ("action",)),
        Alias("line", ("Line",), ("lines", "dialogue")),
        Alias("vad", ("Continuous Emotion",), ("vad",)),
        Alias("temperament", ("Temperament",)),
        Alias("attractiveness", ("Facial Attractiveness",), ("attractiveness",)),
        Alias("shot_type", ("Shot Type",), ("shot",)),
    ),
    "object": (
        Alias("name", ("object", "Type"), ("name",)),
        Alias("description", ("Description",)),
        Alias("shot_type", ("Shot Type",), ("shot",)),
    ),
    "vad": (
        Alias("valence", ("Valence (V)",), ("valence", "v")),
        Alias("arousal", ("Arousal (A)",), ("arousal", "a")),
        Alias("dominance", ("Dominance (D)",), ("dominance", "d")),
    ),
}


def fold(text: str) -> str:
    """Lenient form of a key or label: case-folded, letters and digits only (``"Shot_Type "`` -> ``shottype``)."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _indexes() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    strict: dict[str, dict[str, str]] = {}
    lenient: dict[str, dict[str, str]] = {}
    for section, fields in ALIASES.items():
        strict[section], lenient[section] = {}, {}
        for field in fields:
            for spelling in field.official:
                strict[section][spelling] = field.target
            for spelling in (*field.official, *field.also, field.target):
                other = lenient[section].setdefault(fold(spelling), field.target)
                if other != field.target:
                    raise AssertionError(f"{section}: {spelling!r} folds to both {other!r} and {field.target!r}")
    return strict, lenient


_STRICT, _LENIENT = _indexes()


def canonical_key(section: str, raw_key: str, lenient: bool = False, where: str | None = None) -> str | None:
    """The schema name of ``raw_key`` in ``section`` (see ``SECTIONS``).

    Strict: only the release's exact spellings; an unknown key raises ``UnknownKeyError`` naming it and ``where``
    (e.g. a JSON path). Lenient: folded spellings and aliases match too; an unknown key gives ``None``.
    """
    if section not in ALIASES:
        raise KeyError(f"unknown section {section!r}; known: {', '.join(SECTIONS)}")
    if lenient:
        return _LENIENT[section].get(fold(raw_key)) if isinstance(raw_key, str) else None
    if isinstance(raw_key, str) and raw_key in _STRICT[section]:
        return _STRICT[section][raw_key]
    raise UnknownKeyError(section, raw_key, where)


#: folded shot type label -> (shot_type, layer); labels with a trailing "shot" fold to the same entry
SHOT_TYPES: dict[str, tuple[str | None, str | None]] = {
    "wide": ("wide", None),
    "full": ("full", None),
    "medium": ("medium", None),
    "closeup": ("close_up", None),
    "extremecloseup": ("extreme_close_up", None),
    "foreground": (None, "foreground"),
    "background": (None, "background"),
}


def normalize_shot_type(value: Any) -> tuple[str | None, str | None]:
    """``(shot_type, layer)`` of a ``"Shot Type"`` value: ``"Close-Up"`` -> ``("close_up", None)``,
    ``"Background"`` -> ``(None, "background")``, ``None`` -> ``(None, None)``; case/space/hyphen-insensitive."""
    if value is None:
        return None, None
    if isinstance(value, str):
        label = fold(value)
        if label.endswith("shot") and label != "shot":
            label = label[: -len("shot")]
        if label in SHOT_TYPES:
            return SHOT_TYPES[label]
    raise BadValueError(f"unknown shot type {value!r} (expected Wide/Full/Medium Shot, Close-up, "
                        "Extreme Close-up, Foreground or Background)")


_INT = re.compile(r"^[+-]?[0-9]+$")


def to_number(value: Any) -> int | float:
    """A number from a number or a numeric string (``"6"`` -> 6, ``"6.5"`` -> 6.5); integral values become int."""
    if isinstance(value, str):
        text = value.strip()
        if _INT.match(text):
            return int(text)
        try:
            value = float(text)
        except ValueError:
            raise BadValueError(f"not a number: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValueError(f"not a number: {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValueError(f"not a finite number: {value!r}")
        if value.is_integer():
            return int(value)
    return value


def _number_in(value: Any, low: int, high: int, integral: bool = False) -> int | float | None:
    if value is None:
        return None
    number = to_number(value)
    if integral and not isinstance(number, int):
        raise BadValueError(f"not an integer: {value!r}")
    if not low <= number <= high:
        raise BadValueError(f"{value!r} is outside {low}..{high}")
    return number


def normalize_vad_value(value: Any) -> int | float | None:
    """A Valence/Arousal/Dominance value: a number on 1..9 (strings accepted), ``None`` stays ``None``."""
    return _number_in(value, 1, 9)


def normalize_attractiveness(value: Any) -> int | None:
    """Facial Attractiveness: an integer on 1..5 (``"4"`` -> 4, ``4.0`` -> 4), ``None`` stays ``None``."""
    number = _number_in(value, 1, 5, integral=True)
    return None if number is None else int(number)


def normalize_scene_number(value: Any) -> int | None:
    """A scene number: an integer >= 0 (``"1"`` -> 1)."""
    if value is None:
        return None
    number = to_number(value)
    if not isinstance(number, int) or number < 0:
        raise BadValueError(f"scene number must be an integer >= 0, got {value!r}")
    return number


def normalize_bool(value: Any) -> bool | None:
    """A boolean from a bool or ``"True"``/``"False"`` (any case, surrounding spaces ignored)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    raise BadValueError(f"not a boolean: {value!r} (expected true/false or \"True\"/\"False\")")


def normalize_text(value: Any) -> str | None:
    """A free-text field: strings as given, numbers as their text (an ``Age`` of 30 -> ``"30"``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise BadValueError(f"expected text, got {type(value).__name__} {value!r}")


def _items(value: Any, size: int, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != size:
        raise BadValueError(f"{what} must be a list of {size} items, got {value!r}")
    return value


def normalize_scene(value: Any) -> dict[str, Any] | None:
    """``"Scene": [number, name]`` -> the schema's scene object (``int_ext``/``time_of_day`` unknown)."""
    if value is None:
        return None
    number, name = _items(value, 2, "Scene [number, name]")
    return {"number": normalize_scene_number(number), "name": normalize_text(name), "int_ext": None,
            "time_of_day": None}


_BPM = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:bpm)?\s*$", re.IGNORECASE)


def normalize_bgm(value: Any) -> dict[str, Any] | None:
    """``"BGM": [present, genre, mood, tempo]`` -> the schema's bgm object (present as a boolean; the tempo's words
    in ``tempo_text``, and in ``tempo`` too when they are a number of beats per minute: ``"96 BPM"`` -> 96)."""
    if value is None:
        return None
    present, genre, mood, tempo = _items(value, 4, "BGM [present, genre, mood, tempo]")
    text = normalize_text(tempo)
    bpm = _BPM.match(text or "")
    return {"present": normalize_bool(present), "genre": normalize_text(genre), "mood": normalize_text(mood),
            "tempo": float(bpm.group(1)) if bpm else None, "tempo_text": text}


_TIMESTAMP = re.compile(r"^([0-9]{2,}):([0-5][0-9]):([0-5][0-9])[:.,]([0-9]{3})$")


def normalize_timestamp(value: Any) -> str | None:
    """``HH:MM:SS:mmm`` (paper Figure 1, e.g. ``"00:00:07:759"``); ``.`` or ``,`` before milliseconds accepted."""
    if value is None:
        return None
    match = _TIMESTAMP.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise BadValueError(f"timestamp {value!r} is not HH:MM:SS:mmm")
    return ":".join(match.groups())


def normalize_person_type(value: Any) -> str:
    """A person's ``"object"``/``"Type"``: must be ``"person"`` (any case)."""
    if isinstance(value, str) and value.strip().casefold() == "person":
        return "person"
    raise BadValueError(f"a person's type must be \"person\", got {value!r}")


def normalize_name(value: Any) -> str:
    """An object's ``"object"``/``"Type"``: a non-empty name (surrounding spaces removed)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise BadValueError(f"an object's name must be non-empty text, got {value!r}")


def _vad(value: Any) -> Any:
    return value  # a nested section: walked by the caller with canonical_key("vad", ...) and normalize_vad_value


def _list(value: Any) -> Any:
    return value  # people/objects: walked by the caller item by item


#: (section, schema name) -> value normalizer of that field
NORMALIZERS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("frame", "scene"): normalize_scene,
    ("frame", "bgm"): normalize_bgm,
    ("frame", "description"): normalize_text,
    ("frame", "people"): _list,
    ("frame", "objects"): _list,
    ("frame", "timestamp"): normalize_timestamp,
    ("person", TYPE): normalize_person_type,
    ("person", "name"): normalize_text,
    ("person", "age"): normalize_text,
    ("person", "gender"): normalize_text,
    ("person", "looks"): normalize_text,
    ("person", "emotion"): normalize_text,
    ("person", "actions"): normalize_text,
    ("person", "line"): normalize_text,
    ("person", "vad"): _vad,
    ("person", "temperament"): normalize_text,
    ("person", "attractiveness"): normalize_attractiveness,
    ("person", "shot_type"): normalize_shot_type,
    ("object", "name"): normalize_name,
    ("object", "description"): normalize_text,
    ("object", "shot_type"): normalize_shot_type,
    ("vad", "valence"): normalize_vad_value,
    ("vad", "arousal"): normalize_vad_value,
    ("vad", "dominance"): normalize_vad_value,
}


def normalize(section: str, target: str, value: Any) -> Any:
    """Normalize one field's value by its schema name (``shot_type`` gives a ``(shot_type, layer)`` pair)."""
    return NORMALIZERS[(section, target)](value)

_missing = {(s, f.target) for s, fields in ALIASES.items() for f in fields} ^ set(NORMALIZERS)
if _missing:
    raise AssertionError(f"ALIASES and NORMALIZERS disagree on {sorted(_missing)}")
