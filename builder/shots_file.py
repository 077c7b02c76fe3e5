"""The per-video shots file, ``OUT/shots/<video_id>.json``: written by the keyframes stage, carried down the chain,
read by the stages after it; validated against ``schema/shots.schema.json`` when written and when read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from builder.errors import SkyscriptError
from builder.shards import write_json_atomic
from builder.validation import schema_problems

SHOTS = "shots"  # the folder of shots files inside a stage folder


class ShotsFileError(SkyscriptError):
    """A shots file that is unreadable or does not follow its schema."""


def shots_file(stage_dir: str | Path, video_id: str) -> Path:
    """Where a video's shots file lies in a stage folder."""
    return Path(stage_dir) / SHOTS / f"{video_id}.json"


def _check(where: Path, data: Any) -> None:
    problems = schema_problems(where.name, data, "shots")
    if problems:
        raise ShotsFileError(f"{where}: not a valid shots file: {problems[0]}")


def write_shots_file(stage_dir: str | Path, data: dict[str, Any]) -> Path:
    """Validate and write a shots file (atomically); returns its path."""
    path = shots_file(stage_dir, data.get("video_id", ""))
    _check(path, data)
    write_json_atomic(path, data)
    return path


def read_shots_file(path: str | Path) -> dict[str, Any]:
    """A shots file, parsed and validated."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShotsFileError(f"{path}: unreadable shots file ({exc})") from exc
    _check(path, data)
    return data
