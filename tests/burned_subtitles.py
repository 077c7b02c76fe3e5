"""Burned-in subtitles for tests: real Big Buck Bunny frames at 640x360 with Chinese and English lines drawn by
Pillow in Noto Sans CJK SC (from the ``mplfonts`` test dependency), and the character error rate."""

from __future__ import annotations

from pathlib import Path

import mplfonts
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from videos import read_frames

FPS, SIZE = 25, (640, 360)
LINES = ["你昨天晚上到底去哪里了", "Where were you last night?", "我一直在这里等你回来", "I have been waiting for you all day.",
         "这件事情跟你没有关系", "This has nothing to do with you.", "明天早上八点在公司见", "See you at the office at eight.",
         "对不起，我不是故意的", "I'm sorry, I didn't mean it.", "你为什么不早点告诉我", "Why didn't you tell me sooner?"]


def font_path() -> Path:
    return Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"


def bunny(shared_data: Path, count: int) -> list[np.ndarray]:
    """``count`` real frames: Big Buck Bunny at 640x360, played forward then backward, again and again."""
    clip = read_frames(shared_data / "bigbuckbunny.mp4", 0, 10_000, SIZE)
    order = list(range(len(clip))) + list(range(len(clip) - 2, 0, -1))
    return [clip[order[i % len(order)]].copy() for i in range(count)]


def overlay(text: str, font: ImageFont.FreeTypeFont) -> np.ndarray:
    """White text with a dark outline, centred in the lower part of the frame, as RGBA."""
    image = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(image).text((SIZE[0] // 2, 318), text, font=font, anchor="ms", fill=(255, 255, 255, 255),
                               stroke_width=2, stroke_fill=(20, 20, 20, 255))
    return np.asarray(image)


def burn(frames: list[np.ndarray], seed: int = 7) -> list[tuple[str, int, int, tuple[int, int]]]:
    """Alternating Chinese and English lines, each shown 1-3 s with short or no gaps, burned into ``frames``:
    ``(text, first frame, end frame (exclusive), (top row, bottom row))`` each."""
    rng = np.random.default_rng(seed)
    font = ImageFont.truetype(str(font_path()), 24)
    shown, start = [], int(0.5 * FPS)
    for text in LINES:
        end = start + int(rng.integers(FPS, 3 * FPS + 1))
        if end > len(frames) - FPS // 2:
            break
        rgba = overlay(text, font)
        rows = np.flatnonzero(rgba[..., 3].max(axis=1) > 0)
        top, bottom = int(rows[0]), int(rows[-1])
        alpha = rgba[top:bottom + 1, :, 3:].astype(np.float32) / 255
        for i in range(start, end):
            part = frames[i][top:bottom + 1]
            frames[i][top:bottom + 1] = (part * (1 - alpha) + rgba[top:bottom + 1, :, :3] * alpha).round()
        shown.append((text, start, end, (top, bottom)))
        start = end + int(rng.choice([0, 0, 5, 10]))  # no gap, 0.2 s or 0.4 s
    return shown


def cer(truth: list[str], read: list[str]) -> float:
    """Character error rate: Levenshtein distance over the truth's length, summed over all lines."""
    def distance(a: str, b: str) -> int:
        row = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            prev, row[0] = row[0], i
            for j, cb in enumerate(b, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        return row[-1]
    return sum(distance(t, r) for t, r in zip(truth, read)) / sum(len(t) for t in truth)
