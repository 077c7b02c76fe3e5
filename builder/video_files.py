"""Per-video working files beside a stage's shards, carried down the chain and read by the stages after the one
that wrote them (never published):

- ``OUT/shots/<video_id>.json`` (``schema/shots.schema.json``): the keyframes stage's shots and the source's place;
- ``OUT/signals/<video_id>.json`` (``schema/signals.schema.json``): motion and sound energy from the keyframes
  stage's decoding pass (``annotate.signals``), for the highlight stage;
- ``OUT/characters/<video_id>.json`` (``schema/characters.schema.json``): the calibrate stage's characters.

Each is validated against its schema when written and when read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import SkyscriptError
from builder.shards import write_json_atomic
from builder.validation import schema_problems


class VideoFileError(SkyscriptError):
    """A per-video file that is unreadable or does not follow its schema."""


@dataclass(frozen=True)
class VideoFile:
    """One kind of per-video file: its folder inside a stage folder (also its schema's name)."""

    folder: str
    title: str  # in messages: "shots file"
    compact: bool = False  # written without indentation (long arrays of numbers)

    def path(self, stage_dir: str | Path, video_id: str) -> Path:
        """Where a video's file lies in a stage folder."""
        return Path(stage_dir) / self.folder / f"{video_id}.json"

    def _check(self, where: Path, data: Any) -> None:
        problems = schema_problems(where.name, data, self.folder)
        if problems:
            raise VideoFileError(f"{where}: not a valid {self.title}: {problems[0]}")

    def write(self, stage_dir: str | Path, data: dict[str, Any]) -> Path:
        """Validate and write a video's file (atomically); returns its path."""
        path = self.path(stage_dir, data.get("video_id", ""))
        self._check(path, data)
        write_json_atomic(path, data, self.compact)
        return path

    def read(self, path: str | Path) -> dict[str, Any]:
        """A video's file, parsed and validated."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VideoFileError(f"{path}: unreadable {self.title} ({exc})") from exc
        self._check(path, data)
        return data

    def find(self, stage_dir: str | Path, video_id: str) -> dict[str, Any] | None:
        """A video's file from a stage folder, or None when that folder has none."""
        path = self.path(stage_dir, video_id)
        return self.read(path) if path.exists() else None


def source_video(shots: dict[str, Any] | None, source_root: str | None = None,
                 relative: str | None = None) -> Path | None:
    """Where a video's source lies: ``source_root`` (a moved input folder; else the shots file's ``root``) joined
    with the shots file's ``path`` (else ``relative``, a frame record's ``source.path``); None when either is
    unknown."""
    relative = (shots or {}).get("path") or relative
    root = source_root or (shots or {}).get("root")
    return Path(root) / relative if root and relative else None


SHOTS_FILE = VideoFile("shots", "shots file")
SIGNALS_FILE = VideoFile("signals", "signals file", compact=True)
CHARACTERS_FILE = VideoFile("characters", "character file")
#: every per-video file a stage folder may hold (carried along by the runner)
VIDEO_FILES: tuple[VideoFile, ...] = (SHOTS_FILE, SIGNALS_FILE, CHARACTERS_FILE)
