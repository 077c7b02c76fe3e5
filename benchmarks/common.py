"""What the benchmark scripts share: where the repository and its sample videos are, and a best-of-N timer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
BUNDLED_CLIP = REPO / "samples" / "bigbuckbunny.mp4"
MUSIC_VIDEO = REPO.parent / "shared" / "data" / "transnetv2-test.mp4"


def sample_videos(given: list[Path]) -> list[Path]:
    """The videos given, else the bundled clip and the music video when ``../shared/data`` is there."""
    return given or [p for p in (BUNDLED_CLIP, MUSIC_VIDEO) if p.exists()]


def best(fn: Callable[[], object], repeat: int = 1) -> float:
    """The shortest of ``repeat`` timed calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
