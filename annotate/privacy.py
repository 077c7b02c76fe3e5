"""Privacy stage: faces and on-screen text pixelated into ``jpg``, checked again, recorded (``skyscript privacy IN OUT``).

Reads a stage folder (the keyframes stage's OUT) video by video. For each frame it detects faces on the raw
keyframe (``raw.jpg``, at full resolution) and, as a temporal fail-safe, on the neighbouring frames of the same
shot decoded from the source video (one pass through the video, found through the shots file: ``root`` and
``path``, or the ``source_root`` setting for a moved folder; searched shrunk to ``temporal_max_side``, all
neighbours of a keyframe as one batch), and text regions with RapidOCR (detection only, at full resolution); it
pixelates the union of the boxes into ``jpg`` and records the boxes with their origin (keyframe or neighbour)
and scores (never text), the temporal search's status, and the ``jpg``'s sha256 in ``privacy``. When the
source video is missing or unreadable the search fails closed: the frame says ``skipped`` with the reason, the
count goes to the summary and the card, and ``--strict`` fails the task instead. Self-audit, on the output
where it differs from the keyframe (elsewhere it is the keyframe, already searched): the face detectors search
each pixelated face again with ``audit_context`` around it, at the keyframe's detection scale (the whole frame
when those regions cover most of it), and the text recogniser reads each pixelated text region; whatever is
still found is pixelated harder, up to ``audit_rounds`` times, after which the frame is quarantined and not
written. ``raw.jpg`` travels on for later stages; ``skyscript publish`` drops it and refuses frames whose ``jpg``
is not the one this stage wrote. Other samples pass through unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from annotate.config import operational
from annotate.faces import Found, detection_scale, make_face_detectors
from annotate.pixelate import expand, pixelate
from annotate.runner import FrameStage, Task, VideoStage, stage_main
from annotate.texts import Read, TextDetector
from annotate.video import Converter, DecodedFrame, Video, VideoError
from builder.contract import Box
from builder.errors import SkyscriptError
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter
from builder.video_files import SHOTS_FILE, source_video

LOG = logging.getLogger(__name__)

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in whole pixels, end exclusive
WHOLE_FRAME_SHARE = 0.5  # the audit searches the whole frame once its regions cover more than this share
MIN_REGION_SIDE = 64  # pixels: the least an audit region spans in each direction (the image allowing)


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
    temporal_max_side: int = 640  # neighbours are searched shrunk to this longest side (px); 0: the keyframe's size
    source_root: str | None = operational(None)  # where the source videos are; default: the shots files' root
    audit_rounds: int = 2
    audit_context: float = 1.0  # the audit searches each pixelated face grown by this share of its size per side
    jpeg_quality: int = 90
    shard_max_count: int = operational(1000)


class TemporalSkipped(SkyscriptError):
    """``--strict``: a frame's temporal search could not run (its source video is missing or unreadable)."""


class Neighbours:
    """A video decoded once, front to back, handing out each keyframe's neighbouring frames; keyframes come
    in frame order, so only ``2 * radius + 1`` decoded frames are held at a time."""

    def __init__(self, path: Path, radius: int) -> None:
        self.path, self.radius = path, radius
        self.rgb = Converter()
        self._open()

    def _open(self) -> None:
        self.video = Video(self.path)
        self.decoded: Iterator[DecodedFrame] = self.video.frames()
        self.held: deque[DecodedFrame] = deque()
        self.ended = False

    def around(self, index: int, first: int, last: int, size: tuple[int, int]) -> list[np.ndarray]:
        """RGB frames ``first..last`` within ``radius`` of ``index`` (not ``index`` itself), at ``size``;
        raises :class:`VideoError` when the video cannot be decoded."""
        low, high = max(first, index - self.radius), min(last, index + self.radius)
        if self.held and low < self.held[0].index:  # keyframes out of frame order: start again
            self.video.close()
            self._open()
        while self.held and self.held[0].index < low:
            self.held.popleft()
        while not self.ended and (not self.held or self.held[-1].index < high):
            decoded = next(self.decoded, None)
            if decoded is None:
                self.ended = True
            elif decoded.index >= low:
                self.held.append(decoded)
        return [_resized(self.rgb.array(d.frame), size) for d in self.held
                if low <= d.index <= high and d.index != index]

    def close(self) -> None:
        self.video.close()


class PrivacyStage(FrameStage, VideoStage[PrivacyConfig]):
    """Pixelate faces and on-screen text of every frame; audit the result."""

    name = "privacy"
    config_class = PrivacyConfig

    def setup(self, device) -> None:
        c = self.config
        self.faces = make_face_detectors(c.face_detectors, c.face_threshold, c.face_upscale_to, c.deepface_home)
        names = tuple(n.strip() for n in c.text_names.split(",") if n.strip())
        self.texts = TextDetector(c.text_box_threshold, names, c.text_readable_score) if c.texts else None
        self.detector_names = [d.name for d in self.faces] + ([self.texts.name] if self.texts else [])

    # ---- detection -----------------------------------------------------------------------------------------

    def detect_faces(self, rgb: np.ndarray, scale: float | None = None) -> Found:
        """Faces of every detector on one image (at ``scale``; ``None``: the detectors' own)."""
        return [found for detector in self.faces for found in detector.detect(rgb, scale)]

    def detect_neighbours(self, neighbours: list[np.ndarray], size: tuple[int, int]) -> Found:
        """Faces of every detector on the neighbours (one batch each), in pixels of a keyframe of ``size``."""
        if not neighbours:
            return []
        fx, fy = size[0] / neighbours[0].shape[1], size[1] / neighbours[0].shape[0]
        return [([box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy], score) for detector in self.faces
                for found in detector.detect_batch(neighbours) for box, score in found]

    def detect_texts(self, rgb: np.ndarray) -> list[tuple[Box, float | None]]:
        return self.texts.detect(rgb) if self.texts else []

    def still_found(self, output: np.ndarray, faces: list[Box], texts: list[Box], scale: float) -> tuple[Found, Read]:
        """The audit, in pixels of ``output``: faces the detectors find again around the pixelated ``faces``
        (:func:`audit_regions`, searched at the keyframe's detection ``scale``), and the pixelated ``texts``
        regions (as the mosaic covers them) the recogniser still reads. Elsewhere the output is the keyframe, where
        the detectors found nothing more, and a mosaic cannot reveal what they did not find under it (a face
        under a text's mosaic, text under a face's)."""
        c, (height, width) = self.config, output.shape[:2]
        found: Found = []
        for x0, y0, x1, y1 in audit_regions(faces, c.margin, c.audit_context, width, height):
            crop = np.ascontiguousarray(output[y0:y1, x0:x1])
            found += [([b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0], s) for b, s in self.detect_faces(crop, scale)]
        mosaics = [expand(box, c.margin, width, height) for box in texts]
        return found, self.texts.reads(output, mosaics) if self.texts else []

    def begin(self, task: Task, writer: ShardWriter) -> None:
        """The video's shots (bounds of each shot) and its decoder, opened at its first keyframe."""
        self.video_id, self.stage_dir = task.name, self.input_dir(task)
        self.shots = SHOTS_FILE.find(self.stage_dir, task.name)
        self.bounds = {s["index"]: (s["start_frame"], s["end_frame"]) for s in (self.shots or {}).get("shots", [])}
        self.reader: Neighbours | None = None
        self.skipped: str | None = None  # why the temporal search cannot run for the rest of this video

    def source_path(self, record: dict) -> Path | None:
        """The frame's source video: ``source_root`` (or the shots file's root) joined with its relative path."""
        return source_video(self.shots, self.config.source_root, (record.get("source") or {}).get("path"))

    def neighbours(self, record: dict) -> tuple[list[np.ndarray], dict]:
        """The keyframe's neighbours and the temporal search's record (searched, off, or skipped with a reason)."""
        radius = self.config.temporal_radius
        if radius <= 0:
            return [], {"status": "off", "reason": None}
        if self.reader is None and self.skipped is None:
            path = self.source_path(record)
            try:
                if path is None:
                    raise VideoError("missing", "no source path or root (set source_root)")
                self.reader = Neighbours(path, radius)
            except VideoError as exc:
                self._skip(f"source_{'missing' if exc.reason == 'missing' else 'unreadable'}", str(exc))
        if self.reader is not None:
            index = record["frame_index"]
            first, last = self.bounds.get(record["shot_index"], (index - radius, index + radius))
            size = shrunk(record["width"], record["height"], self.config.temporal_max_side)
            try:
                return self.reader.around(index, first, last, size), {"status": "searched", "reason": None}
            except VideoError as exc:
                self._skip("source_unreadable", str(exc))
        return [], {"status": "skipped", "reason": self.skipped}

    def _skip(self, reason: str, detail: str) -> None:
        if self.reader is not None:
            self.reader.close()
        self.reader, self.skipped = None, reason
        message = f"{self.video_id}: temporal fail-safe skipped ({reason}: {detail})"
        if self.strict:
            raise TemporalSkipped(message + "; fix source_root, or run without --strict to record the frames "
                                  "as skipped")
        LOG.warning(message)

    # ---- one frame -----------------------------------------------------------------------------------------

    def frames(self, batch: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> Iterator[Sample]:
        for sample in batch:
            protected = self.protect(sample, writer, quarantine)
            if protected is not None:
                yield protected

    def end(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def protect(self, sample: Sample, writer: ShardWriter, quarantine: Quarantine) -> Sample | None:
        if "raw.jpg" not in sample.members:
            quarantine.add(sample.key, "no_raw_image", "a frame needs raw.jpg (the keyframes stage's output)")
            writer.count("frames_quarantined")
            return None
        raw = Image.open(io.BytesIO(sample.members["raw.jpg"])).convert("RGB")
        rgb = np.asarray(raw)
        neighbours, temporal = self.neighbours(sample.record)
        if temporal["status"] == "skipped":
            writer.count("frames_temporal_skipped")
            writer.count(f"frames_temporal_skipped_{temporal['reason']}")
        faces = self.detect_faces(rgb)
        from_neighbours = self.detect_neighbours(neighbours, raw.size)
        texts = self.detect_texts(rgb)
        writer.count("faces_on_keyframe", len(faces))
        writer.count("faces_on_neighbours_only", sum(1 for f in from_neighbours if not _covered(f[0], faces)))
        writer.count("text_regions", len(texts))
        c = self.config
        image = pixelate(raw, [b for b, _ in faces + from_neighbours], c.face_blocks, c.margin)
        image = pixelate(image, [b for b, _ in texts], c.text_blocks, c.margin)  # cells across a line's height
        image, left, rounds, passed = self.audit(image, [b for b, _ in faces + from_neighbours], [b for b, _ in texts],
                                                 detection_scale(rgb.shape, c.face_upscale_to))
        if rounds:
            writer.count("frames_repixelated")
            writer.count(f"frames_passed_after_round_{rounds}" if passed else "frames_failed_every_round")
        if not passed:
            writer.count("frames_quarantined")
            quarantine.add(sample.key, "audit_failed", json.dumps({"rounds": rounds, "still_found": [
                [round(v, 1) for v in b] for b in left]}), source=(sample.record.get("source") or {}).get("path"))
            return None
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=c.jpeg_quality)
        jpg = buffer.getvalue()
        record = dict(sample.record)
        record["privacy"] = {
            "faces": [{"bbox": _rounded(b), "score": _unit(s), "origin": "keyframe"} for b, s in faces]
            + [{"bbox": _rounded(b), "score": _unit(s), "origin": "neighbour"} for b, s in from_neighbours],
            "texts": [{"bbox": _rounded(b), "score": _unit(s)} for b, s in texts],
            "detectors": self.detector_names,
            "audit": {"passed": True, "rounds": rounds},
            "temporal": temporal,
            "jpg_sha256": hashlib.sha256(jpg).hexdigest(),
        }
        record["provenance"] = [*record.get("provenance", []), self.provenance(model=",".join(self.detector_names))]
        writer.count("frames")
        return Sample(sample.key, record, {**sample.members, "jpg": jpg})

    def audit(self, image: Image.Image, faces: list[Box], texts: list[Box], scale: float
              ) -> tuple[Image.Image, list[Box], int, bool]:
        """Search the pixelated image again (:meth:`still_found`); pixelate what is still found harder (coarser
        cells, one flat colour in the last of ``audit_rounds``) and search again. Returns the image, the boxes
        still found, the rounds and whether it passed."""
        rounds, blocks = 0, self.config.face_blocks
        while True:
            found, read = self.still_found(np.asarray(image), faces, texts, scale)
            left = [b for b, _ in found + read]
            if not left or rounds == self.config.audit_rounds:
                return image, left, rounds, not left
            rounds += 1
            blocks = 1 if rounds == self.config.audit_rounds else max(1, blocks // 2)
            image = pixelate(image, left, blocks, self.config.margin)
            faces, texts = faces + [b for b, _ in found], texts + [b for b, _ in read]


def shrunk(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` scaled down (never up) so the longest side is at most ``max_side`` (0: as it is)."""
    factor = min(1.0, max_side / max(width, height)) if max_side > 0 else 1.0
    return max(1, round(width * factor)), max(1, round(height * factor))


def _resized(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A decoded frame, converted to RGB at its own size, at ``size`` (shrunk by OpenCV's pixel area: a 720p frame
    to 640x360 takes 1.1-1.4 ms so, converted and shrunk, against 1.4-1.7 ms through a reused PyAV scaler)."""
    import cv2

    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    shrinking = size[0] < rgb.shape[1]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def audit_regions(boxes: list[Box], margin: float, context: float, width: int, height: int) -> list[Region]:
    """Where the audit searches: each box as pixelated (grown by ``margin``) grown again by ``context`` of its size
    on every side and to at least ``MIN_REGION_SIDE``, overlapping regions merged; the whole image when they
    cover more than ``WHOLE_FRAME_SHARE`` of it; none without boxes."""
    regions = []
    for box in boxes:
        x0, y0, x1, y1 = expand(box, margin, width, height)
        dx = max(context * (x1 - x0), (MIN_REGION_SIDE - (x1 - x0)) / 2)
        dy = max(context * (y1 - y0), (MIN_REGION_SIDE - (y1 - y0)) / 2)
        regions.append((max(0, int(x0 - dx)), max(0, int(y0 - dy)), min(width, int(np.ceil(x1 + dx))),
                        min(height, int(np.ceil(y1 + dy)))))
    merged = _merged(regions)
    if sum((r[2] - r[0]) * (r[3] - r[1]) for r in merged) > WHOLE_FRAME_SHARE * width * height:
        return [(0, 0, width, height)]
    return merged


def _merged(regions: list[Region]) -> list[Region]:
    """Regions with every overlapping pair replaced by their bounding region, until none overlap."""
    merged: list[Region] = []
    for region in regions:
        while True:
            overlapping = [m for m in merged if m[0] < region[2] and region[0] < m[2] and m[1] < region[3]
                           and region[1] < m[3]]
            if not overlapping:
                break
            for m in overlapping:
                merged.remove(m)
                region = (min(region[0], m[0]), min(region[1], m[1]), max(region[2], m[2]), max(region[3], m[3]))
        merged.append(region)
    return merged


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
