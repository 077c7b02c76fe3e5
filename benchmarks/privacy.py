"""Privacy stage cost per frame, at 720p and at 160x90, with and without the temporal fail-safe; or face recall.

Keyframes are made once with the keyframes stage (the bundled 720p clip, a keyframe every 0.25 s; the 160x90
music video from ../shared/data, every 2 s), then the privacy stage runs on them with its models loaded:
``temporal_radius=0`` (the keyframe alone) beside the default ``temporal_radius=2`` (4 neighbours decoded
and searched per keyframe). Prints ms per frame and where the time goes (faces, text, audit), and beside them
one pass of the stage's face detector (CenterFace) alone over the same keyframes (decoded beforehand), the
least the stage can cost. A video that is missing (no ``../shared/data``) is left out with a note.
Run: ``.venv/bin/python benchmarks/privacy.py``.

``--recall``: face recall of CenterFace, Haar and dlib HOG on the music video's keyframes (one every
``--every-s`` seconds, 1 by default), each detector built by ``make_face_detectors`` with the privacy stage's
default threshold and upscaling (0.2, longest side 320 px) and run on the keyframe's ``raw.jpg``. There is no
ground truth, so the reference faces are those at least two detectors agree on: two boxes agree when the centre
of one lies inside the other (the stage's own ``_covered`` test). Boxes are grouped greedily: a box joins the
first group holding a box it agrees with (a second box of the same detector there is a duplicate and is ignored);
groups with boxes of two or more detectors are the reference faces. Prints per detector the reference faces it
found (count and share) and its boxes that no other detector's box agrees with ("unconfirmed").
Run: ``.venv/bin/python benchmarks/privacy.py --recall`` (about 10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import figure  # noqa: E402

from annotate.faces import make_face_detectors  # noqa: E402
from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.privacy import PrivacyConfig, PrivacyStage, _covered  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from builder.contract import Box  # noqa: E402
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402

VIDEOS = [("720p (bigbuckbunny.mp4)", REPO / "samples" / "bigbuckbunny.mp4", 0.25),
          ("160x90 (transnetv2-test.mp4)", REPO.parent / "shared" / "data" / "transnetv2-test.mp4", 2.0)]


def timed_run(stage: PrivacyStage, keyframes: Path, out: Path) -> tuple[float, pstats.Stats]:
    """The stage's one task over ``keyframes`` (one video), profiled; models already loaded."""
    [task] = stage.tasks(keyframes)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    with ShardWriter(out, "bench", Quarantine(out / "q.jsonl", "bench")) as writer:
        profiler.runcall(stage.run_task, task, writer, Quarantine(out / "q.jsonl", "b"))
    return time.perf_counter() - start, pstats.Stats(profiler)


def share(stats: pstats.Stats, module: str, name: str) -> float:
    """Cumulative seconds of ``module.name`` (summed over its call sites)."""
    return sum(v[3] for k, v in stats.stats.items() if k[0].endswith(module) and k[2] == name)


def agree(a: Box, b: Box) -> bool:
    """The centre of one box lies inside the other."""
    return _covered(a, [(b, 1.0)]) or _covered(b, [(a, 1.0)])


def reference_faces(found: dict[str, list[Box]]) -> list[dict[str, Box]]:
    """Faces of one frame that at least two detectors agree on, as {detector: box}."""
    groups: list[dict[str, Box]] = []
    for name, boxes in found.items():
        for box in boxes:
            group = next((g for g in groups if any(agree(box, other) for other in g.values())), None)
            if group is None:
                groups.append({name: box})
            else:
                group.setdefault(name, box)
    return [g for g in groups if len(g) >= 2]


def recall(every_s: float) -> None:
    """Face recall of each detector against the faces at least two of them agree on (module docstring)."""
    config = PrivacyConfig()
    detectors = make_face_detectors("centerface,haar,dlib", config.face_threshold, config.face_upscale_to, None)
    names = [d.name for d in detectors]
    hits, unconfirmed, references, frames = dict.fromkeys(names, 0), dict.fromkeys(names, 0), 0, 0
    with tempfile.TemporaryDirectory() as work:
        run_stage(KeyframesStage(KeyframesConfig(every_s=every_s)), VIDEOS[1][1], Path(work), progress=False)
        for shard in shard_paths(work):
            for sample in iter_shard(shard):
                if "raw.jpg" not in sample.members:
                    continue
                rgb = np.asarray(Image.open(io.BytesIO(sample.members["raw.jpg"])).convert("RGB"))
                found = {d.name: [box for box, _ in d.detect(rgb)] for d in detectors}
                faces = reference_faces(found)
                frames, references = frames + 1, references + len(faces)
                for name, boxes in found.items():
                    hits[name] += sum(1 for face in faces if name in face)
                    unconfirmed[name] += sum(1 for box in boxes if not any(
                        agree(box, other) for n, others in found.items() if n != name for other in others))
    print(f"{VIDEOS[1][0]}: {frames} keyframes (one every {every_s:g} s), {references} reference faces "
          f"(at least two detectors agree), detection upscaled to {config.face_upscale_to} px\n")
    print(f"{'detector':16s} {'found':>9s} {'recall':>7s} {'unconfirmed':>12s}")
    for name in names:
        share = 100 * hits[name] / references if references else 0.0
        print(f"{name:16s} {f'{hits[name]}/{references}':>9s} {share:6.0f}% {unconfirmed[name]:12d}")


def speed() -> None:
    work = Path(tempfile.mkdtemp())
    stages = {radius: PrivacyStage(PrivacyConfig(temporal_radius=radius)) for radius in (0, 2)}
    for stage in stages.values():
        stage.setup("cpu")
    print(f"{'video':30s} {'frames':>6s} {'fail-safe':>9s} {'ms/frame':>9s} {'faces':>7s} {'text':>7s} {'audit':>7s}")
    for label, video, every in VIDEOS:
        if not video.exists():
            print(f"{label:30s} left out: {video} is missing")
            continue
        keyframes = work / video.stem
        run_stage(KeyframesStage(KeyframesConfig(every_s=every)), video, keyframes, progress=False)
        [shard] = shard_paths(keyframes)
        frames = sum(1 for _ in iter_shard(shard))
        images = [np.asarray(Image.open(io.BytesIO(s.members["raw.jpg"])).convert("RGB"))
                  for s in iter_shard(shard) if "raw.jpg" in s.members]
        detect = stages[0].detect_faces
        one_pass = []
        for _ in range(2):  # the first warms onnxruntime up; the best of the two counts
            start = time.perf_counter()
            for rgb in images:
                detect(rgb)
            one_pass.append(1000 * (time.perf_counter() - start) / max(1, len(images)))
        per_frame = {}
        for radius, stage in stages.items():
            out = work / f"{video.stem}-{radius}"
            timed_run(stage, keyframes, out)  # warm-up (onnxruntime sessions, caches)
            shutil.rmtree(out)
            seconds, stats = timed_run(stage, keyframes, out)
            per_frame[radius] = 1000 * seconds / frames
            faces = share(stats, "privacy.py", "detect_faces")
            texts, readable = share(stats, "texts.py", "detect"), share(stats, "texts.py", "readable")
            print(f"{label:30s} {frames:6d} {('radius ' + str(radius)):>9s} {1000 * seconds / frames:9.1f} "
                  f"{1000 * faces / frames:7.1f} {1000 * texts / frames:7.1f} {1000 * readable / frames:7.1f}")
            shutil.rmtree(out)
        print(f"{label:30s} {len(images):6d} {'':>9s} {min(one_pass):9.1f}  one face detection pass alone "
              f"({', '.join(d.name for d in stages[0].faces)}, keyframes decoded beforehand)")
        name = video.name
        figure("privacy", f"stage, fail-safe off, {name}", per_frame[0], "ms/frame", "one CenterFace pass",
               min(one_pass), better="lower")
        figure("privacy", f"stage, fail-safe radius 2, {name}", per_frame[2], "ms/frame", "fail-safe off",
               per_frame[0], better="lower")
    shutil.rmtree(work)
    print("\nfaces: all face detection (keyframe, neighbours, audit); text: RapidOCR detection; audit: OCR reading "
          "of the output (faces of the audit are in 'faces'). ms per frame, best of one warm run.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--recall", action="store_true", help="face recall of centerface, haar, dlib (not speed)")
    parser.add_argument("--every-s", type=float, default=1.0, help="keyframe interval of --recall (seconds)")
    args = parser.parse_args(argv)
    if args.recall:
        recall(args.every_s)
    else:
        speed()


if __name__ == "__main__":
    main()
