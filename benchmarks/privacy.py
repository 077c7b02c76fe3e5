"""Privacy stage cost per frame, at 720p and at 160x90, with and without the temporal fail-safe.

Keyframes are made once with the keyframes stage (the bundled 720p clip, a keyframe every 0.25 s; the 160x90
music video from ../shared/data, every 2 s), then the privacy stage runs on them with its models loaded:
``temporal_radius=0`` (the keyframe alone) beside the default ``temporal_radius=2`` (4 neighbours decoded
and searched per keyframe). Prints ms per frame and where the time goes (faces, text, audit).
Run: ``.venv/bin/python benchmarks/privacy.py``.
"""

from __future__ import annotations

import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.privacy import PrivacyConfig, PrivacyStage  # noqa: E402
from annotate.runner import Task, run_stage  # noqa: E402
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402

VIDEOS = [("720p (bigbuckbunny.mp4)", REPO / "samples" / "bigbuckbunny.mp4", 0.25),
          ("160x90 (transnetv2-test.mp4)", REPO.parent / "shared" / "data" / "transnetv2-test.mp4", 2.0)]


def timed_run(stage: PrivacyStage, shard: Path, out: Path) -> tuple[float, pstats.Stats]:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    with ShardWriter(out, "bench", Quarantine(out / "q.jsonl", "bench")) as writer:
        profiler.runcall(stage.run_task, Task("bench", shard, shard.name), writer, Quarantine(out / "q.jsonl", "b"))
    return time.perf_counter() - start, pstats.Stats(profiler)


def share(stats: pstats.Stats, module: str, name: str) -> float:
    """Cumulative seconds of ``module.name`` (summed over its call sites)."""
    return sum(v[3] for k, v in stats.stats.items() if k[0].endswith(module) and k[2] == name)


def main() -> None:
    work = Path(tempfile.mkdtemp())
    stages = {radius: PrivacyStage(PrivacyConfig(temporal_radius=radius)) for radius in (0, 2)}
    for stage in stages.values():
        stage.setup("cpu")
    print(f"{'video':30s} {'frames':>6s} {'fail-safe':>9s} {'ms/frame':>9s} {'faces':>7s} {'text':>7s} {'audit':>7s}")
    for label, video, every in VIDEOS:
        keyframes = work / video.stem
        run_stage(KeyframesStage(KeyframesConfig(every_s=every)), video, keyframes, progress=False)
        [shard] = shard_paths(keyframes)
        frames = sum(1 for _ in iter_shard(shard))
        for radius, stage in stages.items():
            out = work / f"{video.stem}-{radius}"
            timed_run(stage, shard, out)  # warm-up (onnxruntime sessions, caches)
            shutil.rmtree(out)
            seconds, stats = timed_run(stage, shard, out)
            faces = share(stats, "privacy.py", "detect_faces")
            texts, readable = share(stats, "texts.py", "detect"), share(stats, "texts.py", "readable")
            print(f"{label:30s} {frames:6d} {('radius ' + str(radius)):>9s} {1000 * seconds / frames:9.1f} "
                  f"{1000 * faces / frames:7.1f} {1000 * texts / frames:7.1f} {1000 * readable / frames:7.1f}")
            shutil.rmtree(out)
    shutil.rmtree(work)
    print("\nfaces: all face detection (keyframe, neighbours, audit); text: RapidOCR detection; audit: OCR reading "
          "of the output (faces of the audit are in 'faces'). ms per frame, best of one warm run.")


if __name__ == "__main__":
    main()
