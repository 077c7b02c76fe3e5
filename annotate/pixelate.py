"""Mosaic pixelation of boxes: block size relative to each region, with a margin around it."""

from __future__ import annotations

from PIL import Image

from builder.contract import Box



def expand(box: Box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` of its size on every side, clipped to the image, as integers."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return (max(0, int(x0 - dx)), max(0, int(y0 - dy)), min(width, int(round(x1 + dx)) + 1),
            min(height, int(round(y1 + dy)) + 1))


def pixelate(image: Image.Image, boxes: list[Box], blocks: int, margin: float) -> Image.Image:
    """A copy of ``image`` where each box (plus margin) is replaced by a mosaic ``blocks`` cells across its
    shorter side (``blocks=1``: one flat colour)."""
    out = image.copy()
    for box in boxes:
        region = expand(box, margin, image.width, image.height)
        w, h = region[2] - region[0], region[3] - region[1]
        if w <= 0 or h <= 0:
            continue
        cell = max(1.0, min(w, h) / max(1, blocks))
        small = (max(1, round(w / cell)), max(1, round(h / cell)))
        patch = out.crop(region).resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.NEAREST)
        out.paste(patch, region[:2])
    return out
