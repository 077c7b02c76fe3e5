"""Keyframes stage: video files in, one frame record per keyframe out (``skyscript keyframes IN OUT``).

Keyframes are taken every ``interval_s`` seconds from presentation timestamps, scaled so the longest side is
at most ``max_side``, and stored as JPEG. Unusable videos (missing, zero-byte, unreadable or truncated containers, audio only,
absurd dimensions) get a quarantine line and the other videos go on; a video that fails mid-way keeps the
keyframes decoded before the failure and gets a ``decode`` quarantine line saying so.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

from annotate.config import settings_sha
from annotate.inputs import VideoInput, discover_videos
from annotate.runner import Stage, Task, stage_main
from annotate.video import DecodedFrame, Video, VideoError, VideoInfo, format_timestamp
from builder.contract import blank
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter


@dataclass
class KeyframesConfig:
    """Settings of the keyframes stage (``--set interval_s=1``)."""

    interval_s: float = 2.0
    max_side: int = 1280
    jpeg_quality: int = 90
    threads: int = 0
    shard_max_count: int = 1000


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(w, h)`` scaled down (never up) so the longest side is at most ``max_side``; even numbers kept >= 1."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


class KeyframesStage(Stage[KeyframesConfig]):
    """Decode videos and write keyframes as frame records with a JPEG (``jpg``)."""

    name = "keyframes"
    config_class = KeyframesConfig

    def tasks(self, in_path: Path) -> list[Task]:
        return [Task(v.video_id, v, v.relative) for v in discover_videos(in_path)]

    def frame_sample(self, video: VideoInput, info: VideoInfo, decoded: DecodedFrame) -> Sample:
        width, height = scaled_size(info.width, info.height, self.config.max_side)
        image = decoded.frame.to_image(width=width, height=height)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=self.config.jpeg_quality)
        record = blank("frame")
        record.update(
            video_id=video.video_id, shot_index=0, frame_index=decoded.index,
            timestamp=format_timestamp(decoded.time_s), time_s=round(decoded.time_s, 6),
            width=width, height=height,
            source={"path": video.relative, "width": info.width, "height": info.height, "fps": info.fps},
            provenance=[{"stage": self.name, "model": None, "revision": None, "prompt_sha": None,
                         "settings_sha": settings_sha(self.config)}],
        )
        key = f"{video.video_id}_{0:04d}_{decoded.index:07d}"
        return Sample(key, record, {"jpg": buffer.getvalue()})

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        video: VideoInput = task.payload
        try:
            with Video(video.path, threads=self.config.threads) as source:
                info = source.info()
                next_time = 0.0
                for decoded in source.frames():
                    writer.count("frames_decoded")
                    if decoded.time_s + 1e-6 >= next_time:
                        writer.write(self.frame_sample(video, info, decoded))
                        next_time = decoded.time_s + self.config.interval_s
        except VideoError as exc:
            quarantine.add(video.video_id, exc.reason, exc.detail, source=video.relative)
            writer.count(f"videos_{exc.reason}")


def main(argv: list[str] | None = None) -> int:
    return stage_main(KeyframesStage, argv)


if __name__ == "__main__":
    sys.exit(main())
