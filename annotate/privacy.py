"""Privacy stage: faces and on-screen text pixelated into ``jpg``, checked again, recorded (``skyscript privacy IN OUT``).

Reads a stage folder (the keyframes stage's OUT) shard by shard. For each frame it detects faces on the raw
keyframe (``raw.jpg``) and, as a temporal fail-safe, on the neighbouring frames of the same shot decoded from
the source video, and text regions with RapidOCR; it pixelates the union of the boxes into ``jpg`` and records
boxes and scores (never text) in ``privacy``. Self-audit: the detectors run again on the output; whatever they
still find is pixelated harder, up to ``audit_rounds`` times, after which the frame is quarantined and not
written. ``raw.jpg`` travels on for later stages; ``skyscript publish`` drops it and refuses frames that did not
pass this stage. Other samples pass through unchanged.
"""

from __future__ import annotations

import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from annotate.config import settings_sha
from annotate.faces import make_face_detectors
from annotate.pixelate import pixelate
from annotate.runner import SHOTS, ShardStage, Task, stage_main
from annotate.texts import TextDetector
from annotate.video import Video, VideoError
from builder.contract import Box
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard


@dataclass
class PrivacyConfig:
    """Settings of the privacy stage (``--set face_detectors=centerface,haar``)."""

    face_detectors: str = "centerface"  # comma separated: centerface, haar, dlib, deepface:BACKEND
    face_threshold: float = 0.2  # low: a missed face is worse than an extra mosaic
    face_upscale_to: int = 320  # small frames are enlarged to this longest side for detection
    deepface_home: str | None = None  # folder holding .deepface/weights, for deepface backends
    texts: bool = True
    text_box_threshold: float = 0.5  # RapidOCR's text-box score
    text_readable_score: float = 0.5  # the audit fails while the recogniser reads text this confidently
    text_names: str = ""  # comma separated; empty: pixelate every text region found
    face_blocks: int = 8  # mosaic cells across a face's shorter side
    text_blocks: int = 2  # mosaic cells across a text line's height
    margin: float = 0.25  # grow every box by this share of its size on each side
    temporal_radius: int = 2  # neighbouring frames on each side (same shot) searched too; 0: off
    source_root: str | None = None  # where the source videos are; default: the root in the shots files
    audit_rounds: int = 2
    jpeg_quality: int = 90
    shard_max_count: int = 1000


class PrivacyStage(ShardStage[PrivacyConfig]):
    """Pixelate faces and on-screen text of every frame; audit the result."""

    name = "privacy"
    config_class = PrivacyConfig

    def setup(self, device) -> None:
        c = self.config
        self.faces = make_face_detectors(c.face_detectors, c.face_threshold, c.face_upscale_to, c.deepface_home)
        names = tuple(n.strip() for n in c.text_names.split(",") if n.strip())
        self.texts = TextDetector(c.text_box_threshold, names, c.text_readable_score) if c.texts else None
        self.detector_names = [d.name for d in self.faces] + ([self.texts.name] if self.texts else [])
        self.settings = settings_sha(c)

    # ---- detection -----------------------------------------------------------------------------------------

    def detect_faces(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        return [found for detector in self.faces for found in detector.detect(rgb)]

    def detect_texts(self, rgb: np.ndarray) -> list[tuple[Box, float | None]]:
        return self.texts.detect(rgb) if self.texts else []

    def neighbours(self, in_dir: Path, video_id: str, frames: list[Sample], writer: ShardWriter) -> dict[int, list]:
        """RGB neighbours (same shot, ``temporal_radius`` each side) of each keyframe, by keyframe index."""
        radius = self.config.temporal_radius
        if radius <= 0:
            return {}
        shots_file = in_dir / SHOTS / f"{video_id}.json"
        shots = json.loads(shots_file.read_text(encoding="utf-8")) if shots_file.exists() else None
        relative = frames[0].record["source"]["path"] if frames[0].record.get("source") else None
        root = self.config.source_root or (shots or {}).get("root")
        path = Path(root) / relative if root and relative else None
        if path is None or not path.is_file():
            writer.count("temporal_source_missing", len(frames))
            return {}
        bounds = {s["index"]: (s["start_frame"], s["end_frame"]) for s in (shots or {}).get("shots", [])}
        wanted: dict[int, list[int]] = defaultdict(list)  # decoded frame index -> keyframes that want it
        for sample in frames:
            index, shot = sample.record["frame_index"], sample.record["shot_index"]
            first, last = bounds.get(shot, (index - radius, index + radius))
            for k in range(max(first, index - radius), min(last, index + radius) + 1):
                if k != index:
                    wanted[k].append(index)
        size = (frames[0].record["width"], frames[0].record["height"])
        found: dict[int, list] = defaultdict(list)
        try:
            with Video(path) as video:
                for decoded in video.frames():
                    if decoded.index in wanted:
                        rgb = decoded.frame.to_ndarray(width=size[0], height=size[1], format="rgb24")
                        for keyframe in wanted[decoded.index]:
                            found[keyframe].append(rgb)
                    if decoded.index >= max(wanted, default=-1):
                        break
        except VideoError as exc:
            writer.count("temporal_source_unreadable", len(frames))
            print(f"privacy: {path}: {exc}; temporal fail-safe skipped for {video_id}", file=sys.stderr)
        return found

    # ---- one frame -----------------------------------------------------------------------------------------

    def protect(self, sample: Sample, neighbours: list[np.ndarray], writer: ShardWriter,
                quarantine: Quarantine) -> Sample | None:
        if "raw.jpg" not in sample.members:
            quarantine.add(sample.key, "no_raw_image", "a frame needs raw.jpg (the keyframes stage's output)")
            writer.count("frames_quarantined")
            return None
        raw = Image.open(io.BytesIO(sample.members["raw.jpg"])).convert("RGB")
        rgb = np.asarray(raw)
        faces = self.detect_faces(rgb)
        from_neighbours = [f for n in neighbours for f in self.detect_faces(n)]
        texts = self.detect_texts(rgb)
        writer.count("faces_on_keyframe", len(faces))
        writer.count("faces_on_neighbours_only", sum(1 for f in from_neighbours if not _covered(f[0], faces)))
        writer.count("text_regions", len(texts))
        faces += from_neighbours
        c = self.config
        image = pixelate(raw, [b for b, _ in faces], c.face_blocks, c.margin)
        image = pixelate(image, [b for b, _ in texts], c.text_blocks, c.margin)  # cells across a line's height
        rounds, passed, blocks = 0, False, c.face_blocks
        while True:
            output = np.asarray(image)
            left = self.detect_faces(output) + (self.texts.readable(output) if self.texts else [])
            if not left:
                passed = True
                break
            if rounds == c.audit_rounds:
                break
            rounds += 1  # harder: coarser cells, and one flat colour in the last round
            blocks = 1 if rounds == c.audit_rounds else max(1, blocks // 2)
            image = pixelate(image, [b for b, _ in left], blocks, c.margin)
        if rounds:
            writer.count("frames_repixelated")
        if not passed:
            writer.count("frames_quarantined")
            quarantine.add(sample.key, "audit_failed", json.dumps({"rounds": rounds, "still_found": [
                [round(v, 1) for v in b] for b, _ in left]}), source=(sample.record.get("source") or {}).get("path"))
            return None
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=c.jpeg_quality)
        record = dict(sample.record)
        record["privacy"] = {
            "faces": [{"bbox": _rounded(b), "score": _unit(s)} for b, s in faces],
            "texts": [{"bbox": _rounded(b), "score": _unit(s)} for b, s in texts],
            "detectors": self.detector_names,
            "audit": {"passed": True, "rounds": rounds},
        }
        record["provenance"] = [*record.get("provenance", []), {
            "stage": self.name, "model": ",".join(self.detector_names), "revision": None, "prompt_sha": None,
            "settings_sha": self.settings}]
        writer.count("frames")
        return Sample(sample.key, record, {**sample.members, "jpg": buffer.getvalue()})

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        shard: Path = task.payload
        samples = list(iter_shard(shard))
        by_video: dict[str, list[Sample]] = defaultdict(list)
        for sample in samples:
            if sample.kind == "frame":
                by_video[sample.record["video_id"]].append(sample)
        nearby = {vid: self.neighbours(shard.parent, vid, frames, writer) for vid, frames in by_video.items()}
        for sample in samples:
            if sample.kind != "frame":
                writer.write(sample)
                continue
            neighbours = nearby[sample.record["video_id"]].get(sample.record["frame_index"], [])
            protected = self.protect(sample, neighbours, writer, quarantine)
            if protected is not None:
                writer.write(protected)


def _covered(box: Box, others: list[tuple[Box, float]]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(o[0] <= cx <= o[2] and o[1] <= cy <= o[3] for o, _ in others)


def _rounded(box: Box) -> list[float]:
    return [round(float(v), 1) for v in box]


def _unit(score: float | None) -> float | None:
    return None if score is None else round(min(1.0, max(0.0, float(score))), 4)


def main(argv: list[str] | None = None) -> int:
    return stage_main(PrivacyStage, argv)


if __name__ == "__main__":
    sys.exit(main())
