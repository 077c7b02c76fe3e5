"""Camera movement measured from the frames of a shot: the global motion between consecutive sampled frames
(corners tracked with pyramidal Lucas-Kanade, a similarity transform fitted by RANSAC; OpenCV), summed into rates
and classified.

Rates, per second: ``pan`` and ``tilt`` the image content's shift in frame widths / heights (content moving left
means the camera pans right), ``zoom`` the natural log of the scale change (> 0: zoom in), ``roll`` degrees.
Classes: ``static`` when every rate is below its threshold; ``handheld`` when the motion is small but its
direction changes from pair to pair, or the fits are poor; ``complex`` when several movements are strong at once
or direction reverses; else the dominant one of ``pan_left``, ``pan_right``, ``tilt_up``, ``tilt_down``,
``zoom_in``, ``zoom_out``; ``unknown`` when nothing could be tracked. Two movements are at once when the
weaker is at least twice its threshold, or at least half as far above its threshold as the stronger.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Step:
    """The motion from one sampled frame to the next: shift in pixels, scale, roll in degrees, fit quality."""

    dx: float
    dy: float
    scale: float
    roll: float
    inliers: float  # share of tracked corners the fit explains
    seconds: float


@dataclass(frozen=True)
class Thresholds:
    """Rates below which a movement does not count (per second), and what makes a fit unusable."""

    pan: float = 0.03  # frame widths (or heights, for tilt) per second
    zoom: float = 0.03  # log scale per second
    min_inliers: float = 0.5
    consistency: float = 0.6  # share of steps that must move the dominant way


@dataclass(frozen=True)
class CameraMotion:
    """A shot's measured movement: its class and the rates behind it."""

    kind: str
    pan: float
    tilt: float
    zoom: float
    roll: float
    steps: int
    inliers: float

    def as_record(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def step(previous: np.ndarray, current: np.ndarray, seconds: float, max_corners: int = 300) -> Step | None:
    """The global motion between two grey frames (uint8, same size), or None when too little texture is tracked."""
    import cv2

    corners = cv2.goodFeaturesToTrack(previous, maxCorners=max_corners, qualityLevel=0.01, minDistance=7)
    if corners is None or len(corners) < 8:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None, winSize=(21, 21), maxLevel=3)
    kept = status.ravel() == 1
    if kept.sum() < 8:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(corners[kept], moved[kept], method=cv2.RANSAC,
                                                  ransacReprojThreshold=1.5)
    if matrix is None:
        return None
    a, b = matrix[0, 0], matrix[1, 0]
    scale, roll = float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))
    # the shift of the frame's centre (the translation column moves the origin, which a zoom also shifts)
    h, w = previous.shape
    centre = np.array([w / 2, h / 2])
    shifted = matrix[:, :2] @ centre + matrix[:, 2]
    dx, dy = (shifted - centre).tolist()
    return Step(dx, dy, scale, roll, float(inliers.mean()) if inliers is not None else 0.0, seconds)


def classify(steps: list[Step], width: int, height: int, thresholds: Thresholds = Thresholds()) -> CameraMotion:
    """The shot's movement from its steps (frame size in pixels)."""
    usable = [s for s in steps if s.inliers >= thresholds.min_inliers]
    if not steps:  # nothing could be tracked (too few frames, no texture): not measured, not still
        return CameraMotion("unknown", 0.0, 0.0, 0.0, 0.0, 0, 0.0)
    inliers = float(np.mean([s.inliers for s in steps]))
    if not usable:
        return CameraMotion("handheld", 0.0, 0.0, 0.0, 0.0, len(steps), inliers)
    seconds = sum(s.seconds for s in usable)
    pans = np.array([s.dx / width / s.seconds for s in usable])
    tilts = np.array([s.dy / height / s.seconds for s in usable])
    zooms = np.array([np.log(s.scale) / s.seconds for s in usable])
    pan = float(sum(s.dx for s in usable) / width / seconds)
    tilt = float(sum(s.dy for s in usable) / height / seconds)
    zoom = float(sum(np.log(s.scale) for s in usable) / seconds)
    roll = float(sum(s.roll for s in usable) / seconds)
    strong = {"pan": abs(pan) / thresholds.pan, "tilt": abs(tilt) / thresholds.pan, "zoom": abs(zoom) / thresholds.zoom}

    def motion(kind: str) -> CameraMotion:
        return CameraMotion(kind, pan, tilt, zoom, roll, len(steps), inliers)

    def consistent(rates: np.ndarray, sign: float) -> bool:
        return float(np.mean(np.sign(rates) == sign)) >= thresholds.consistency

    moving = [k for k, v in strong.items() if v >= 1]
    if not moving:
        jitter = max(np.abs(pans).max() / thresholds.pan, np.abs(tilts).max() / thresholds.pan,
                     np.abs(zooms).max() / thresholds.zoom)
        return motion("handheld" if jitter >= 2 else "static")
    second = sorted(strong.values())[-2]
    if len(moving) > 1 and (second >= 2 or second >= 0.5 * max(strong.values())):  # two movements at once
        return motion("complex")
    dominant = max(strong, key=strong.__getitem__)
    rate, rates = {"pan": (pan, pans), "tilt": (tilt, tilts), "zoom": (zoom, zooms)}[dominant]
    if not consistent(rates, np.sign(rate)):
        return motion("handheld" if strong[dominant] < 3 else "complex")
    if dominant == "pan":
        return motion("pan_right" if pan < 0 else "pan_left")  # content moving left: the camera turns right
    if dominant == "tilt":
        return motion("tilt_up" if tilt > 0 else "tilt_down")  # content moving down: the camera tilts up
    return motion("zoom_in" if zoom > 0 else "zoom_out")


def measure(frames: list[np.ndarray], times: list[float], thresholds: Thresholds = Thresholds()) -> CameraMotion:
    """The movement over a shot's sampled grey frames (in order, taken at ``times`` seconds)."""
    if len(times) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(times)} times")
    steps = [s for a, b, t0, t1 in zip(frames, frames[1:], times, times[1:])
             if t1 > t0 and (s := step(a, b, t1 - t0)) is not None]
    height, width = frames[0].shape if frames else (1, 1)
    return classify(steps, width, height, thresholds)
