"""Keyframe quality from a grayscale analysis image: sharpness, exposure, contrast and an occlusion heuristic.

All measures are taken on the frame scaled to a fixed analysis size (longest side ``analysis_side``), so they
do not depend on the video's resolution. Sharpness is the variance of the 4-neighbour Laplacian. The occlusion
heuristic looks for what blocks the view in a keyframe: the largest connected area of textureless cells that
touches the frame border (an out-of-focus shoulder, hand or door edge in front of the lens), as a share of
the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = (9, 16)  # rows, columns of cells for the occlusion heuristic


@dataclass(frozen=True)
class Quality:
    """Measures of one frame; ``problems`` names the limits it breaks."""

    sharpness: float
    brightness: float
    contrast: float
    occluded_share: float

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class QualityLimits:
    min_sharpness: float
    dark_max_brightness: float
    bright_min_brightness: float
    min_contrast: float
    max_occluded_share: float

    def problems(self, q: Quality) -> list[str]:
        found = []
        if q.brightness <= self.dark_max_brightness:
            found.append("near_black")
        if q.brightness >= self.bright_min_brightness:
            found.append("washed_out")
        if q.contrast < self.min_contrast:
            found.append("near_uniform")
        if q.sharpness < self.min_sharpness:
            found.append("blurred")
        if q.occluded_share > self.max_occluded_share:
            found.append("occluded")
        return found


def laplacian(gray: np.ndarray) -> np.ndarray:
    """4-neighbour Laplacian of a float image (the border row and column are dropped)."""
    return (gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:]) - 4.0 * gray[1:-1, 1:-1]


def _largest_border_component(mask: np.ndarray) -> int:
    """Cells in the largest 4-connected component of ``mask`` that touches the border."""
    rows, cols = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    best = 0
    for r in range(rows):
        for c in range(cols):
            if not mask[r, c] or seen[r, c]:
                continue
            stack, size, border = [(r, c)], 0, False
            seen[r, c] = True
            while stack:
                y, x = stack.pop()
                size += 1
                border |= y in (0, rows - 1) or x in (0, cols - 1)
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= ny < rows and 0 <= nx < cols and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            if border:
                best = max(best, size)
    return best


def measure(gray: np.ndarray, flat_cell_sharpness: float = 2.0) -> Quality:
    """Quality of a uint8 grayscale analysis image."""
    image = gray.astype(np.float32)
    lap = laplacian(image)
    rows, cols = GRID
    h, w = lap.shape
    cells = lap[: h - h % rows, : w - w % cols].reshape(rows, h // rows, cols, w // cols)
    cell_var = cells.var(axis=(1, 3))
    occluded = _largest_border_component(cell_var < flat_cell_sharpness) / (rows * cols)
    return Quality(float(lap.var()), float(image.mean()), float(image.std()), float(occluded))
