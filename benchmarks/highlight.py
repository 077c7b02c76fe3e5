"""The highlight stage's cost per minute of video, beside the keyframes stage's on the same video (the baseline),
and how it splits between the curve's arithmetic and the plot.

For each video: the keyframes stage with its defaults, then the highlight stage straight on its output (the
stages between them change only the frames' people, which the curve reads per keyframe), timed whole (reading
the shards, writing them back with the curve and its plot); then the curve alone (``build_curve``) and the plot
alone (``plot_curve``) on the same input, best of three. Run: ``.venv/bin/python benchmarks/highlight.py
[VIDEO ...]`` (default: the bundled clip, and the music video when ``../shared/data`` is there).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import REPO, figure, best, sample_videos

sys.path[:0] = [str(REPO)]

from annotate.highlight import HighlightConfig, HighlightStage, build_curve  # noqa: E402
from annotate.highlight_plot import plot_curve  # noqa: E402
from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from builder.shards import iter_shard, shard_paths  # noqa: E402
from builder.video_files import SHOTS_FILE, SIGNALS_FILE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    args = parser.parse_args()
    videos = sample_videos(args.videos)
    print(f"{'video':<22} {'minutes':>8} {'keyframes s/min':>16} {'highlight s/min':>16} {'curve ms':>9} "
          f"{'plot ms':>8}")
    config = HighlightConfig()
    for video in videos:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            keyframes = best(lambda: run_stage(KeyframesStage(KeyframesConfig()), video, tmp / "keyframes",
                                                progress=False))
            video_id = next((tmp / "keyframes" / "shots").glob("*.json")).stem
            shots = SHOTS_FILE.find(tmp / "keyframes", video_id)
            signals = SIGNALS_FILE.find(tmp / "keyframes", video_id)
            minutes = shots["duration_s"] / 60
            runs = iter(range(3))  # a fresh OUT each time: a finished OUT would be skipped
            highlight = best(lambda: run_stage(HighlightStage(config), tmp / "keyframes",
                                                tmp / f"highlight{next(runs)}", progress=False), 3)
            frames = [s.record for p in shard_paths(tmp / "keyframes") for s in iter_shard(p)]
            made = build_curve(video_id, config, frames, shots, signals)
            curve = best(lambda: build_curve(video_id, config, frames, shots, signals), 3)
            plot = best(lambda: plot_curve(made.record, made.cuts_s), 3)
        print(f"{video.name:<22} {minutes:>8.2f} {keyframes / minutes:>16.1f} {highlight / minutes:>16.2f} "
              f"{curve * 1000:>9.1f} {plot * 1000:>8.1f}")
        figure("highlight", f"highlight stage, {video.name}", highlight / minutes, "s/min of video",
               "keyframes stage", keyframes / minutes, better="lower")
        figure("highlight", f"curve alone, {video.name}", curve * 1000, "ms", better="lower")


if __name__ == "__main__":
    main()
