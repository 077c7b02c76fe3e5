"""The record contract's validators: schemas are draft-07, fastjsonschema agrees with jsonschema, problems are precise.

``builder.validation`` runs a compiled ``fastjsonschema`` validator on the hot path and ``jsonschema`` for messages;
that is only sound while the two agree. The corpus test mutates every property path of realistic records (from
``tests/factories.py``) and compares the two verdicts record by record.
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterator

import fastjsonschema
import jsonschema
import pytest

from factories import FACTORIES, frame_key, frame_record, frame_sample, jpeg_bytes  # tests/, via conftest.py

from builder.contract import KINDS, blank, load_schema
from builder.sample import Sample
from builder.validation import check_sample, exact_validator, fast_validator, schema_problems

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SEED = 20240101
MIN_CORPUS = 300
STACKED = 150  # records with two or three mutations at once, per kind

# -- (a) the schemas ---------------------------------------------------------------------------------------------

#: keywords that fastjsonschema (drafts 4/6/7) and jsonschema (draft 7) both implement, plus annotations
SHARED_KEYWORDS = {
    "$schema", "$id", "$ref", "title", "description", "definitions", "type", "enum", "const", "properties",
    "required", "additionalProperties", "items", "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "multipleOf", "not", "anyOf", "oneOf", "allOf",
    "uniqueItems", "patternProperties", "minProperties", "maxProperties", "default", "examples",
}
_SCHEMA_MAPS = ("properties", "definitions", "patternProperties")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


def _keywords(schema: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """``(schema path, keyword)`` of every keyword used anywhere in a schema."""
    if not isinstance(schema, dict):
        return
    for keyword, value in schema.items():
        yield where, keyword
        if keyword in _SCHEMA_MAPS:
            for name, sub in value.items():
                yield from _keywords(sub, f"{where}/{keyword}/{name}")
        elif keyword in _SCHEMA_VALUES:
            subs = value if isinstance(value, list) else [value]
            for n, sub in enumerate(subs):
                yield from _keywords(sub, f"{where}/{keyword}" + (f"/{n}" if isinstance(value, list) else ""))
        elif keyword in _SCHEMA_LISTS:
            for n, sub in enumerate(value):
                yield from _keywords(sub, f"{where}/{keyword}/{n}")


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_07(kind: str) -> None:
    schema = load_schema(kind)
    assert schema["$schema"] == DRAFT_07
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    jsonschema.Draft7Validator.check_schema(schema)
    assert exact_validator(kind).__class__ is jsonschema.Draft7Validator
    fast_validator(kind)  # compiles
    unsupported = sorted({f"{where}: {kw}" for where, kw in _keywords(schema) if kw not in SHARED_KEYWORDS})
    assert not unsupported, f"{kind}: keywords outside the set both validators implement: {unsupported}"


@pytest.mark.parametrize("kind", KINDS)
def test_factories_fill_every_key_with_valid_values(kind: str) -> None:
    for i in range(12):
        record = FACTORIES[kind](i)
        assert set(record) == set(blank(kind)), kind
        errors = [f"{e.json_path}: {e.message}" for e in exact_validator(kind).iter_errors(record)]
        assert not errors, f"{kind} factory record {i}: {errors}"
        fast_validator(kind)(record)
        for path, value in _paths(record):
            assert value is not None, f"{kind} factory record {i} leaves {_json_path(path)} null"


# -- (b) fastjsonschema agrees with jsonschema ------------------------------------------------------------------

Path_ = tuple[Any, ...]


def _paths(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every ``(path, value)`` below ``node``; in lists, the first and last item (every property path, once)."""
    if path:
        yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list) and node:
        for index in sorted({0, len(node) - 1}):
            yield from _paths(node[index], path + (index,))


def _json_path(path: Path_) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _get(record: Any, path: Path_) -> Any:
    for part in path:
        record = record[part]
    return record


def _set(record: Any, path: Path_, value: Any) -> Any:
    out = _copy(record)
    _get(out, path[:-1])[path[-1]] = value
    return out


def _delete(record: Any, path: Path_) -> Any:
    out = _copy(record)
    del _get(out, path[:-1])[path[-1]]
    return out


_NUMBERS = [-1, -0.5, 0, 0.5, 1, 2.5, 5, 6, 9, 9.5, 10, 12, 10**20, "5", True]
_STRINGS = ["", "Close-Up", "vid.0", "a b", "1:00:00:000", "\U0001F600", 123, [], {}]


def _wrong_values(value: Any) -> list[Any]:
    """Replacements for one value: other types, boundaries, near-misses."""
    if isinstance(value, bool):
        return ["true", 1, 0, [value]]
    if isinstance(value, int):
        return [*_NUMBERS, float(value), value + 0.5, -value - 1]
    if isinstance(value, float):
        return [*_NUMBERS, -0.0, 1e308, int(value), -value - 1.0, str(value)]
    if isinstance(value, str):
        return [*_STRINGS, value + "\n", " " + value, value.upper(), value.title(), True]
    if isinstance(value, list):
        out: list[Any] = [{}, "x", 0, [], [None], [[]], [{}], ["x"], [1.5]]
        if value:
            out += [value[:-1], value + value[-1:], value + [None], [*value[:-1], "x"]]
        return out
    if isinstance(value, dict):
        return [[], "x", 0, {}, {**value, "extra": 1}, {**value, "": None}]
    return [0, "x", [], {}]


def _copy(record: Any) -> Any:
    return json.loads(json.dumps(record))  # records are JSON: much faster than deepcopy


def _schema_location(path: Path_) -> Path_:
    return tuple("[]" if isinstance(p, int) else p for p in path)


def _mutations(record: dict[str, Any], rng: random.Random, repeats: int = 3) -> Iterator[tuple[str, Any]]:
    """``(description, mutated record)`` for every property path: deleted, null, other types, out of range.

    Every value probe runs on the first path of each schema location (``people[].vad.valence``); later paths of
    the same location (other list items) get ``repeats`` probes drawn with ``rng``.
    """
    yield "extra top-level key", {**record, "extra": None}
    yield "extra key named like a member", {**record, "jpg": "x"}
    for value in (None, [], "frame", 1, [record]):
        yield f"record replaced by {value!r:.40}", value
    seen: set[Path_] = set()
    for path, value in _paths(record):
        where = _json_path(path)
        yield f"delete {where}", _delete(record, path)
        yield f"{where} = null", _set(record, path, None)
        probes = _wrong_values(value)
        location = _schema_location(path)
        if location in seen:
            probes = rng.sample(probes, min(repeats, len(probes)))
        seen.add(location)
        for wrong in probes:
            yield f"{where} = {json.dumps(wrong)[:40]}", _set(record, path, wrong)


#: mutations the contract must refuse, whatever else happens (checked against both validators)
_MUST_FAIL = {
    "frame": [
        ("people", 0, "vad", "valence", 0), ("people", 0, "vad", "valence", 10), ("people", 0, "vad", "valence", "5"),
        ("people", 0, "vad", "arousal", 9.01), ("people", 0, "attractiveness", 6), ("people", 0, "attractiveness", 2.5),
        ("people", 0, "attractiveness", 0), ("people", 0, "shot_type", "Close-Up"), ("objects", 0, "shot_type", "pan"),
        ("people", 0, "layer", "middle"), ("people", 0, "bbox", [1, 2, 3]), ("people", 0, "bbox", [1, 2, 3, 4, 5]),
        ("people", 0, "pose", "keypoints", 0, [1.0, 2.0]), ("people", 0, "location_3d", [1.0, 2.0]),
        ("people", 0, "face", "age", -1), ("objects", 0, "score", 1.5), ("objects", 0, "name", ""),
        ("privacy", "faces", 0, "score", -0.1), ("privacy", "audit", "passed", None), ("source", "fps", 0),
        ("width", 0), ("timestamp", "1:00:00:000"), ("timestamp", "00:61:00:000"), ("video_id", "vid.0"),
        ("kind", "shooting_script"), ("kind", "Frame"), ("schema_version", "2.0"), ("schema_version", 1.0),
        ("people", None), ("extraction", "outcome", "guessed"), ("review", "status", "approved"),
        ("scene", "int_ext", "int"), ("video_id", "vid0\n"), ("timestamp", "00:00:01:000\n"),
    ],
    "shooting_script": [
        ("shots", []), ("shots", 0, "number", 0), ("shots", 0, "shot_size", "Close-Up"),
        ("shots", 0, "characters", 0, "location_3d", [0.0]), ("shots", 0, "frame_keys", 0, "vid0.0000"),
        ("scene", "number", None), ("text", ""), ("kind", "frame"), ("script_id", "a/b"),
        ("script_id", "s1\n"), ("shots", 0, "frame_keys", 0, "vid0_0000_0000001\n"),
    ],
    "highlight_curve": [
        ("valence", 0, 0), ("arousal", 0, 10), ("dominance", 0, "5"), ("time_s", 0, -1), ("peaks", 0, "time_s", None),
        ("method", ""), ("kind", "curve"), ("video_id", "vid0\n"), ("score", 0, 1.5), ("score", 0, None),
        ("motion", 0, -0.1), ("peaks", 0, "prominence", -1), ("method", "settings", "shot_score", "median"),
        ("method", "missing", 0, "component", "colour"),
    ],
    "pair": [
        ("restoration_index", -1), ("restoration_index", 1.5), ("generator", "temperature", -0.1),
        ("generator", "seed", 1.5), ("generator", "model", ""), ("pair_id", "p.1"), ("schema_version", "1"),
        ("pair_id", "p1\n"), ("script_id", "s1\n"),
    ],
}
#: edge values the contract accepts
_MUST_PASS = {
    "frame": [
        ("people", 0, "vad", "valence", 1), ("people", 0, "vad", "valence", 9), ("people", 0, "vad", None),
        ("people", 0, "attractiveness", 1), ("people", 0, "attractiveness", 5), ("people", 0, "shot_type", None),
        ("people", []), ("privacy", None), ("objects", 0, "score", 0), ("timestamp", "100:59:59:999"),
    ],
    "shooting_script": [("shots", 0, "shot_size", None), ("shots", 0, "event", None), ("scene", "int_ext", None)],
    "highlight_curve": [("valence", 0, None), ("peaks", []), ("sound", 0, None), ("method", "missing", []),
                        ("duration_s", None)],
    "pair": [("generator", "seed", None), ("generator", "temperature", 0)],
}


def _fast_verdict(kind: str, record: Any) -> tuple[bool, str]:
    try:
        fast_validator(kind)(record)
        return True, ""
    except fastjsonschema.JsonSchemaException as exc:
        return False, str(exc)


def _exact_detail(kind: str, record: Any) -> str:
    errors = list(exact_validator(kind).iter_errors(record))
    return "; ".join(f"{e.json_path} {e.validator} at #/{'/'.join(map(str, e.schema_path))}" for e in errors[:3])


def _corpus(kind: str) -> list[tuple[str, Any]]:
    rng = random.Random(f"{SEED}:{kind}")
    factory = FACTORIES[kind]
    corpus: list[tuple[str, Any]] = [(f"valid {kind} {i}", factory(i)) for i in range(24)]
    base = factory(1)  # frames: two people, two objects
    corpus += _mutations(base, rng)
    for spec in _MUST_FAIL[kind] + _MUST_PASS[kind]:
        corpus.append((f"edge {spec}", _set(base, spec[:-1], spec[-1])))
    # stacked mutations on other factory records: two or three changes at once
    paths = [p for p, _ in _paths(base)]
    for n in range(STACKED):
        record = factory(rng.randrange(1000))
        notes = []
        for _ in range(rng.randint(2, 3)):
            candidates = [p for p in paths if _has(record, p)]
            path = rng.choice(candidates)
            wrong = rng.choice([None, *_wrong_values(_get(record, path))])
            record = _set(record, path, wrong)
            notes.append(f"{_json_path(path)} = {json.dumps(wrong)[:30]}")
        corpus.append((f"stacked {n}: " + ", ".join(notes), record))
    return corpus


def _has(record: Any, path: Path_) -> bool:
    try:
        node = record
        for part in path:
            if isinstance(part, int) and (not isinstance(node, list) or part >= len(node)):
                return False
            if isinstance(part, str) and (not isinstance(node, dict) or part not in node):
                return False
            node = node[part]
        return True
    except (KeyError, IndexError, TypeError):
        return False


@pytest.mark.parametrize("kind", KINDS)
def test_fast_and_exact_validators_agree_on_a_corpus(kind: str) -> None:
    corpus = _corpus(kind)
    assert len(corpus) >= MIN_CORPUS, f"only {len(corpus)} {kind} records"
    mismatches = []
    valid = 0
    for description, record in corpus:
        fast, fast_detail = _fast_verdict(kind, record)
        exact = exact_validator(kind).is_valid(record)
        valid += exact
        if fast != exact:
            exact_detail = _exact_detail(kind, record)
            mismatches.append(f"- {description}: fastjsonschema {'accepts' if fast else 'refuses'} "
                              f"({fast_detail or 'valid'}), jsonschema {'accepts' if exact else 'refuses'} "
                              f"({exact_detail or 'valid'})\n  record: {json.dumps(record, ensure_ascii=False)[:300]}")
    assert not mismatches, (f"{len(mismatches)} of {len(corpus)} {kind} records get different verdicts:\n"
                            + "\n".join(mismatches[:15]))
    assert 24 <= valid < len(corpus) // 2, f"{kind}: {valid} valid of {len(corpus)}: corpus is not mostly mutations"


@pytest.mark.parametrize("kind", KINDS)
def test_edge_values_have_the_intended_verdict(kind: str) -> None:
    """Includes ids with a trailing newline: Python's ``$`` matches before it (jsonschema uses ``re.search``)
    while fastjsonschema rewrites ``$`` to ``\\Z``; ids and keys must refuse it in both."""
    base = FACTORIES[kind](5)
    for spec, expected in [(s, False) for s in _MUST_FAIL[kind]] + [(s, True) for s in _MUST_PASS[kind]]:
        record = _set(base, spec[:-1], spec[-1])
        assert exact_validator(kind).is_valid(record) is expected, f"jsonschema on {spec}"
        assert _fast_verdict(kind, record)[0] is expected, f"fastjsonschema on {spec}"
    for name in base:
        assert not exact_validator(kind).is_valid(_delete(base, (name,))), f"{kind} without {name!r}"


# -- (c) problems carry jsonschema's JSON path -------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("spec, json_path", [
    (("people", 0, "vad", "valence", 12), "$.people[0].vad.valence"),
    (("people", 1, "attractiveness", 6), "$.people[1].attractiveness"),
    (("people", 0, "pose", "keypoints", 3, [1.0]), "$.people[0].pose.keypoints[3]"),
    (("objects", 1, "bbox", [0, 0, 1]), "$.objects[1].bbox"),
    (("privacy", "audit", "rounds", -1), "$.privacy.audit.rounds"),
])
def test_schema_problems_report_the_json_path(spec: tuple, json_path: str, fast: bool) -> None:
    record = _set(frame_record(5), spec[:-1], spec[-1])
    problems = schema_problems("vid2_0000_0000005", record, "frame", fast=fast)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.key, problem.reason, problem.path) == ("vid2_0000_0000005", "schema", json_path)
    assert problem.message
    assert json_path in str(problem)
    assert schema_problems("vid2_0000_0000005", frame_record(5), "frame", fast=fast) == []


def test_schema_problems_message_names_the_value() -> None:
    (problem,) = schema_problems("k", _set(frame_record(0), ("people", 0, "vad", "valence"), 12), "frame")
    assert "12" in problem.message and "9" in problem.message


# -- (d) check_sample --------------------------------------------------------------------------------------------


def test_check_sample_accepts_a_good_frame() -> None:
    assert check_sample(frame_sample(4)) == []
    sample = frame_sample(5)
    sample.members["raw.jpg"] = jpeg_bytes(96, 54, seed=99)  # the working copy before pixelation, same size
    assert check_sample(sample) == []
    sample.members["raw.jpg"] = jpeg_bytes(320, 180, seed=1)
    assert [(p.reason, p.path) for p in check_sample(sample)] == [("image", "raw.jpg")]


@pytest.mark.parametrize("key", ["vid0.0000_0000001", "vid0_0000_0000001.jpg", "a/b", "", "vid0 1",
                                 "vid0_0000_0000001\n"])
def test_check_sample_rejects_bad_keys(key: str) -> None:
    sample = frame_sample(1)
    problems = check_sample(Sample(key, sample.record, sample.members))
    assert [p.reason for p in problems] == ["key"], problems


@pytest.mark.parametrize("member", ["txt", "png", "raw.png", "json.gz"])
def test_check_sample_rejects_unknown_members(member: str) -> None:
    sample = frame_sample(1)
    sample.members[member] = jpeg_bytes(8, 8)
    problems = check_sample(sample)
    assert [(p.reason, p.path) for p in problems] == [("member", member)], problems


@pytest.mark.parametrize("member", ["jpg", "raw.jpg"])
@pytest.mark.parametrize("data", [b"not a jpeg at all", jpeg_bytes(96, 54)[:200], b""], ids=["text", "cut", "empty"])
def test_check_sample_rejects_undecodable_images(member: str, data: bytes) -> None:
    sample = frame_sample(1)
    sample.members[member] = data
    problems = check_sample(sample)
    assert [(p.reason, p.path) for p in problems] == [("image", member)], problems


def test_check_sample_rejects_a_jpg_of_another_size() -> None:
    sample = frame_sample(1, width=96, height=54)
    sample.members["jpg"] = jpeg_bytes(64, 36, seed=1)
    problems = check_sample(sample)
    assert [(p.reason, p.path) for p in problems] == [("image", "jpg")], problems
    assert "64x36" in problems[0].message and "96x54" in problems[0].message


def test_check_sample_rejects_a_wrong_kind() -> None:
    sample = frame_sample(1)
    assert [p.reason for p in check_sample(sample, kinds=("shooting_script",))] == ["kind"]
    unknown = Sample(frame_key(1), {**sample.record, "kind": "clip"}, sample.members)
    assert [(p.reason, p.path) for p in check_sample(unknown)] == [("kind", "$.kind")]
    missing = Sample(frame_key(1), {k: v for k, v in sample.record.items() if k != "kind"}, sample.members)
    assert [p.reason for p in check_sample(missing)] == ["kind"]
    assert [p.reason for p in check_sample(Sample(frame_key(1), [sample.record], {}))] == ["schema"]


def test_check_sample_reports_schema_problems_with_their_path() -> None:
    sample = frame_sample(5)
    sample.record["people"][0]["vad"]["valence"] = 12
    assert [(p.reason, p.path) for p in check_sample(sample)] == [("schema", "$.people[0].vad.valence")]
