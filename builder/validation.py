"""Checks of one sample against the contract: key rules, kind, members, JSON Schema, decodable images.

The hot path runs a compiled ``fastjsonschema`` validator (chosen by ``benchmarks/validation.py``; the schemas
use only draft-07 keywords both libraries implement, and ``tests/builder/test_validation.py`` checks that the
two agree on a corpus). Errors are always reported with ``jsonschema``'s JSON path and message.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Iterable

import fastjsonschema
import jsonschema
from jsonschema.exceptions import best_match
from PIL import Image

from builder.sample import IMAGE_EXTENSIONS, KEY_PATTERN, PUBLISHED_MEMBERS, WORKING_MEMBERS, Sample
from builder.contract import KINDS, load_schema


@dataclass(frozen=True)
class Problem:
    """Why a sample cannot be written: ``reason`` is a short category, ``path`` a JSON path or member name."""

    key: str
    reason: str
    path: str | None
    message: str

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.key}: {self.reason}{where}: {self.message}"


@cache
def exact_validator(kind: str) -> jsonschema.protocols.Validator:
    """The reference validator of a kind (``jsonschema``, draft 7)."""
    schema = load_schema(kind)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@cache
def fast_validator(kind: str) -> Callable[[Any], Any]:
    """A compiled ``fastjsonschema`` validator of a kind; raises ``JsonSchemaException`` on invalid data."""
    return fastjsonschema.compile(load_schema(kind))


def schema_problems(key: str, record: Any, kind: str, fast: bool = True) -> list[Problem]:
    """Schema errors of a record (empty when valid); the message and path always come from ``jsonschema``."""
    if fast:
        try:
            fast_validator(kind)(record)
            return []
        except fastjsonschema.JsonSchemaException:
            pass  # fall through for jsonschema's path and message
    error = best_match(exact_validator(kind).iter_errors(record))
    if error is None:
        return []
    return [Problem(key, "schema", error.json_path, error.message)]


def image_problem(key: str, name: str, data: bytes) -> tuple[Problem | None, tuple[int, int] | None]:
    """Decode an image member fully; returns a problem or the image's ``(width, height)``."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return None, image.size
    except Exception as exc:  # PIL raises many types for corrupt data
        return Problem(key, "image", name, f"not a decodable image: {exc}"), None


def check_sample(
    sample: Sample,
    allowed_members: dict[str, Iterable[str]] = WORKING_MEMBERS,
    required_members: dict[str, Iterable[str]] | None = None,
    kinds: Iterable[str] = KINDS,
    fast: bool = True,
) -> list[Problem]:
    """Every problem of a sample; an empty list means it may be written.

    ``allowed_members``/``required_members`` map a kind to member names besides ``json`` (working shards allow
    more than a published dataset folder); ``kinds`` restricts which kinds are accepted (a config folder holds one).
    """
    key = sample.key
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        return [Problem(str(key), "key", None, f"key {key!r} must match {KEY_PATTERN.pattern} (no dots)")]
    if sample.record is None:
        return [Problem(key, "member", "json", "no json member (members of a sample must be contiguous)")]
    if not isinstance(sample.record, dict):
        return [Problem(key, "schema", "$", f"record must be a JSON object, got {type(sample.record).__name__}")]
    kind = sample.kind
    kinds = tuple(kinds)
    if kind not in kinds:
        return [Problem(key, "kind", "$.kind", f"kind {sample.record.get('kind')!r} is not one of {list(kinds)}")]
    problems = schema_problems(key, sample.record, kind, fast=fast)
    allowed = set(allowed_members.get(kind, ()))
    for name in sorted(set(sample.members) - allowed):
        problems.append(Problem(key, "member", name, f"unknown member {name!r} for a {kind} (allowed: json, "
                                                     f"{', '.join(sorted(allowed)) or 'nothing else'})"))
    for name in sorted(set((required_members or {}).get(kind, ())) - set(sample.members)):
        problems.append(Problem(key, "member", name, f"missing member {name!r}: every published {kind} has one"))
    for name in sorted(set(sample.members) & allowed):
        if not f".{name}".endswith(IMAGE_EXTENSIONS):
            continue
        problem, size = image_problem(key, name, sample.members[name])
        if problem:
            problems.append(problem)
        elif kind == "frame":  # width/height describe the stored JPEG(s)
            expected = (sample.record.get("width"), sample.record.get("height"))
            if None not in expected and tuple(expected) != size:
                problems.append(Problem(key, "image", name, f"image is {size[0]}x{size[1]} but the record says "
                                                            f"{expected[0]}x{expected[1]}"))
    if not problems:
        problems = image_hash_problems(sample)
    return problems


def image_hash_problems(sample: Sample) -> list[Problem]:
    """A frame the privacy stage protected must carry the very ``jpg`` it wrote (its sha256 is in the record)."""
    privacy = sample.record.get("privacy") if sample.kind == "frame" else None
    if not isinstance(privacy, dict) or "jpg" not in sample.members:
        return []
    if hashlib.sha256(sample.members["jpg"]).hexdigest() != privacy.get("jpg_sha256"):
        return [Problem(sample.key, "privacy", "$.privacy.jpg_sha256", "the jpg is not the image the privacy "
                                                                        "stage wrote (sha256 differs)")]
    return []


def privacy_problems(sample: Sample) -> list[Problem]:
    """A frame may leave the pipeline only after the privacy stage pixelated it and its audit passed (that its
    ``jpg`` is the one the stage wrote is :func:`image_hash_problems`, part of :func:`check_sample`)."""
    if sample.kind != "frame":
        return []
    record = sample.record
    privacy = record.get("privacy")
    stages = [p.get("stage") for p in record.get("provenance") or [] if isinstance(p, dict)]
    if "privacy" not in stages or not isinstance(privacy, dict) or not (privacy.get("audit") or {}).get("passed"):
        return [Problem(sample.key, "privacy", "$.privacy", "this frame did not pass the privacy stage (faces and "
                                                             "on-screen text pixelated, audit passed): run "
                                                             "`skyscript privacy` before publishing")]
    return []


def check_published(sample: Sample, kinds: Iterable[str] = KINDS) -> list[Problem]:
    """A sample of a dataset folder: its kind's published members only and all of them, a valid record, and
    for frames the privacy stage passed."""
    problems = check_sample(sample, allowed_members=PUBLISHED_MEMBERS, required_members=PUBLISHED_MEMBERS,
                            kinds=kinds)
    return problems or privacy_problems(sample)
