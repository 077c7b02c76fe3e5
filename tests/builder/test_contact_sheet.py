"""``skyscript contact-sheet``: a labelled PNG grid of a video's keyframes, beside its shots file."""

from __future__ import annotations

import json

from factories import frame_sample, jpeg_bytes, shots_file_record
from PIL import Image

from builder.cli import main
from builder.shards import Quarantine, ShardWriter


def test_sheet_has_a_tile_per_keyframe(tmp_path):
    stage = tmp_path / "keyframes"
    with ShardWriter(stage, "keyframes-v", Quarantine(tmp_path / "q.jsonl", "t")) as writer:
        for i in range(7):
            sample = frame_sample(i, video_id="vid", width=64, height=36)
            sample.members = {"raw.jpg": jpeg_bytes(64, 36, seed=i)}
            writer.write(sample)
    shots = stage / "shots" / "vid.json"
    shots.parent.mkdir()
    shots.write_text(json.dumps(shots_file_record("vid")))
    assert main(["contact-sheet", str(shots)]) == 0
    with Image.open(shots.with_suffix(".png")) as sheet:
        assert sheet.size == (5 * 320, 2 * (180 + 22))  # 7 tiles in rows of 5, each 320x180 plus a label
        assert sheet.getpixel((10, 100)) != (255, 255, 255)  # a picture, not the white background
    assert main(["contact-sheet", str(shots), "-o", str(tmp_path / "x.png")]) == 0 and (tmp_path / "x.png").exists()
    other = stage / "shots" / "other.json"
    other.write_text(json.dumps(shots_file_record("other")))
    assert main(["contact-sheet", str(other)]) == 1  # no keyframes of that video
    broken = stage / "shots" / "broken.json"
    broken.write_text(json.dumps({"video_id": "broken", "width": 64, "height": 36, "shots": []}))
    assert main(["contact-sheet", str(broken)]) == 1  # a shots file that does not follow its schema
