"""The script stage's cost per minute of video, beside the keyframes stage's on the same video (the baseline), and
how much of it the camera movement takes.

For each video: the keyframes stage (``every_s=1``), then the script stage straight on its output (the frame
stages between them do not change the script stage's work but their people), timed with the camera movement
measured and without it (the source made unreachable with ``source_root``). Seconds per minute of video, and
the camera movement's sampling and fitting by difference.

Run: ``.venv/bin/python benchmarks/script.py [VIDEO ...]`` (default: the bundled clip, and the music video when
``../shared/data`` is there).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, figure, sample_videos

sys.path[:0] = [str(REPO)]

from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from annotate.script import ScriptConfig, ScriptStage  # noqa: E402


def timed(stage, source, out) -> float:
    started = time.perf_counter()
    run_stage(stage, source, out, progress=False, overwrite=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    args = parser.parse_args()
    videos = sample_videos(args.videos)
    print(f"{'video':<22} {'minutes':>8} {'keyframes s/min':>16} {'script s/min':>13} {'no camera s/min':>16} "
          f"{'camera share':>13}")
    for video in videos:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            keyframes = timed(KeyframesStage(KeyframesConfig(every_s=1.0)), video, tmp / "keyframes")
            shots = json.loads(next((tmp / "keyframes" / "shots").glob("*.json")).read_text())
            minutes = shots["duration_s"] / 60
            script = timed(ScriptStage(ScriptConfig()), tmp / "keyframes", tmp / "script")
            blind = timed(ScriptStage(ScriptConfig(source_root=str(tmp / "nowhere"))), tmp / "keyframes",
                          tmp / "blind")
        print(f"{video.name:<22} {minutes:>8.2f} {keyframes / minutes:>16.1f} {script / minutes:>13.1f} "
              f"{blind / minutes:>16.1f} {(script - blind) / script:>13.0%}")
        figure("script", f"script stage, {video.name}", script / minutes, "s/min of video", "keyframes stage",
               keyframes / minutes, better="lower")
        figure("script", f"camera movement's share, {video.name}", (script - blind) / script, "share",
               better="lower")


if __name__ == "__main__":
    main()
