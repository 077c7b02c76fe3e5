"""Frames sampled across every shot of a source video in one decoding pass (the script stage's camera movement and
the colour of shots without keyframes).

Per shot, up to ``max_samples`` frames evenly spread at about ``per_second`` per second over the shot's frames,
leaving out its first and last frame when the shot has more than four (a transition's edge), at least two; each
is kept as an RGB array ``width`` pixels wide (aspect kept). Frames are converted only when sampled, and a shot's
samples are handed on as soon as its last one is decoded, so memory holds one shot's samples at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from annotate.video import Converter, Video


@dataclass
class ShotFrames:
    """The samples of one shot: RGB frames and their times (seconds from the video's first frame)."""

    index: int
    frames: list[np.ndarray]
    times: list[float]


def sample_indices(start: int, end: int, fps: float | None, per_second: float, max_samples: int) -> list[int]:
    """Frame indices to sample in the shot ``start..end`` (inclusive)."""
    first, last = (start + 1, end - 1) if end - start + 1 > 4 else (start, end)
    seconds = (last - first + 1) / fps if fps else 0.0
    count = int(min(max_samples, max(2, round(seconds * per_second) + 1), last - first + 1))
    return sorted({int(round(v)) for v in np.linspace(first, last, count)})


def sample_shots(path: str | Path, shots: list[dict], fps: float | None, per_second: float, width: int,
                 max_samples: int) -> Iterator[ShotFrames]:
    """Every shot's samples, in the shots' order (the shots file's shots); a shot whose frames the decoder never
    reached comes with the samples it got (maybe none). Raises :class:`annotate.video.VideoError`."""
    wanted: dict[int, int] = {}  # frame index -> shot position
    for position, shot in enumerate(shots):
        for index in sample_indices(shot["start_frame"], shot["end_frame"], fps, per_second, max_samples):
            wanted[index] = position
    last_of = {}
    for index, position in wanted.items():
        last_of[position] = max(last_of.get(position, -1), index)
    gathered = [ShotFrames(shot["index"], [], []) for shot in shots]
    handed, rgb = 0, Converter()
    with Video(path) as video:
        info = video.info()
        height = max(2, int(round(info.height * width / info.width / 2)) * 2)
        for decoded in video.frames():
            position = wanted.get(decoded.index)
            if position is None:
                continue
            gathered[position].frames.append(rgb.array(decoded.frame, (width, height)))
            gathered[position].times.append(decoded.time_s)
            while handed < len(shots) and last_of.get(handed, -1) <= decoded.index:
                yield gathered[handed]
                gathered[handed] = ShotFrames(shots[handed]["index"], [], [])  # release the frames
                handed += 1
            if handed == len(shots):  # nothing more to sample: the rest of the video is not decoded
                return
    for position in range(handed, len(shots)):
        yield gathered[position]
