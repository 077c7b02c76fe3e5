"""Video inputs: a file, a folder searched recursively, or a text file listing paths; stable ``video_id``s."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from annotate.runner import InputError

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".ts")
LIST_EXTENSIONS = (".txt", ".lst")


@dataclass(frozen=True)
class VideoInput:
    """A video and its id: the path relative to the input root, without extension, ``[A-Za-z0-9_-]`` only."""

    video_id: str
    path: Path
    relative: str
    root: Path


def video_id_of(relative: str) -> str:
    """``season 1/ep.01.mp4`` -> ``season_1_ep_01``."""
    stem = relative.rsplit(".", 1)[0] if "." in Path(relative).name else relative
    return re.sub(r"[^A-Za-z0-9_-]", "_", stem.replace(os.sep, "_").replace("/", "_"))


def _listed(list_file: Path) -> list[Path]:
    paths = []
    for line in list_file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            path = Path(line)
            paths.append(path if path.is_absolute() else list_file.parent / path)
    return paths


def discover_videos(in_path: Path) -> list[VideoInput]:
    """All videos of ``in_path`` sorted by id; a collision of ids is an error naming both files."""
    in_path = Path(in_path)
    if in_path.is_dir():
        root = in_path
        paths = sorted(p for p in in_path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    elif in_path.is_file() and in_path.suffix.lower() in LIST_EXTENSIONS:
        paths = _listed(in_path)
        root = Path(os.path.commonpath([p.resolve().parent for p in paths])) if paths else in_path.parent
        paths = [p.resolve() for p in paths]
    elif in_path.exists():
        root, paths = in_path.parent, [in_path]
    else:
        raise InputError(f"{in_path}: no such file or folder")
    if not paths:
        raise InputError(f"{in_path}: no videos ({', '.join(VIDEO_EXTENSIONS)})")
    by_id: dict[str, VideoInput] = {}
    for path in paths:
        relative = path.relative_to(root).as_posix()
        video = VideoInput(video_id_of(relative), path, relative, root.resolve())
        if video.video_id in by_id:
            raise InputError(f"video_id {video.video_id!r} of {path} collides with {by_id[video.video_id].path}; "
                             "rename one of them")
        by_id[video.video_id] = video
    return [by_id[k] for k in sorted(by_id)]
