"""Makes docs/privacy-example.jpg: the privacy stage on a frame of the bundled clip with a name caption drawn
onto it (the clip itself has no faces or captions). Run: ``.venv/bin/python docs/privacy_example.py``."""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from annotate.privacy import PrivacyConfig, PrivacyStage  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from builder.contract import blank  # noqa: E402
from builder.sample import Sample  # noqa: E402
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402


def main() -> None:
    with av.open(str(REPO / "samples" / "bigbuckbunny.mp4")) as container:
        frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 60).to_image()
    ImageDraw.Draw(frame).text((120, 600), "LIN XIA  CEO of Gu Group", fill="white", stroke_width=3,
                               stroke_fill="black", font=ImageFont.load_default(size=44))
    work = Path(tempfile.mkdtemp())
    record = blank("frame")
    record.update(video_id="example", shot_index=0, frame_index=60, width=frame.width, height=frame.height)
    raw = io.BytesIO()
    frame.save(raw, format="JPEG", quality=92)
    with ShardWriter(work / "in", "keyframes-example", Quarantine(work / "q.jsonl", "example")) as writer:
        writer.write(Sample("example_0000_0000060", record, {"raw.jpg": raw.getvalue()}))
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=0)), work / "in", work / "out", progress=False)
    [sample] = [s for p in shard_paths(work / "out") for s in iter_shard(p)]
    after = Image.open(io.BytesIO(sample.members["jpg"]))
    sheet = Image.new("RGB", (1280, 360 + 40), "white")
    sheet.paste(frame.resize((640, 360)), (0, 40))
    sheet.paste(after.resize((640, 360)), (640, 40))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=20)
    draw.text((10, 10), "raw.jpg (caption drawn onto the clip for this example)", fill="black", font=font)
    draw.text((650, 10), "jpg after `skyscript privacy`", fill="black", font=font)
    sheet.save(REPO / "docs" / "privacy-example.jpg", quality=85)
    print(REPO / "docs" / "privacy-example.jpg", sample.record["privacy"])


if __name__ == "__main__":
    main()
