"""``skyscript contact-sheet OUT/shots/<video_id>.json``: a PNG grid of a video's keyframes, labelled."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from builder.shards import iter_shard, shard_paths, stats_path
from builder.video_files import SHOTS_FILE

TILE_WIDTH = 320
COLUMNS = 5
LABEL_HEIGHT = 22


def keyframes_of(stage_dir: Path, video_id: str) -> list[tuple[dict, bytes]]:
    """``(record, image bytes)`` of every keyframe of a video in a stage folder, in time order."""
    found = []
    for shard in shard_paths(stage_dir):
        stats = stats_path(shard)
        if stats.exists() and video_id not in json.loads(stats.read_text(encoding="utf-8")).get("videos", [video_id]):
            continue  # the shard's stats list the videos it holds
        for sample in iter_shard(shard):
            record = sample.record if isinstance(sample.record, dict) else {}
            if record.get("kind") == "frame" and record.get("video_id") == video_id:
                image = sample.members.get("jpg") or sample.members.get("raw.jpg")
                if image:
                    found.append((record, image))
    return sorted(found, key=lambda item: (item[0]["time_s"] or 0, item[0]["frame_index"] or 0))


def render(shots_file: str | Path, output: str | Path | None = None) -> Path:
    """Draw the sheet beside the shots file (``<video_id>.png``) unless ``output`` is given."""
    shots_file = Path(shots_file)
    shots = SHOTS_FILE.read(shots_file)
    stage_dir = shots_file.parent.parent
    frames = keyframes_of(stage_dir, shots["video_id"])
    if not frames:
        raise FileNotFoundError(f"no keyframes of {shots['video_id']!r} in the shards of {stage_dir}")
    aspect = shots["height"] / shots["width"]
    tile = (TILE_WIDTH, max(1, round(TILE_WIDTH * aspect)))
    rows = math.ceil(len(frames) / COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * tile[0], rows * (tile[1] + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (record, data) in enumerate(frames):
        x, y = (i % COLUMNS) * tile[0], (i // COLUMNS) * (tile[1] + LABEL_HEIGHT)
        with Image.open(io.BytesIO(data)) as image:
            sheet.paste(image.convert("RGB").resize(tile), (x, y))
        label = f"shot {record['shot_index']} | {record['timestamp']} | frame {record['frame_index']}"
        draw.text((x + 4, y + tile[1] + 4), label, fill="black", font=font)
    title = f"{shots['video_id']}: {len(shots['shots'])} shots, {len(frames)} keyframes"
    draw.text((4, 4), title, fill="yellow", font=font, stroke_width=1, stroke_fill="black")
    target = Path(output) if output else shots_file.with_suffix(".png")
    sheet.save(target)
    return target
