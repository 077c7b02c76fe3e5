"""Scenes: a video's consecutive shots grouped into scenes, from what is measured and from what a model said.

Each shot is summarised by the colour of its keyframes (:func:`colour_histogram`: HSV, 16 hue x 4 saturation x
4 value bins, averaged over the shot's keyframes), the characters in it (``person_id``) and, when a model
described its frames, the model's scene number. Going through the shots in order, a shot opens a new scene

- when a model numbered both it and the shot before and the numbers differ, and stays when they are equal (the
  model saw more than colour); otherwise
- when its colour distance (Bhattacharyya, 0..1) to every one of the current scene's last ``memory`` shots is
  above ``threshold``, unless it shares a character with them and the nearest is within ``with_characters``.
  A shot without colour (nothing to measure it by) stays in the current scene.

Comparing with the last few shots, not only the one before, keeps a scene that cuts back and forth between
set-ups of one place (shot and reverse shot, a wide and a close-up) together; a return to an earlier place after
another scene is a new scene, since scenes are consecutive. Every shot is in exactly one scene, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = (16, 4, 4)


@dataclass(frozen=True)
class ShotSummary:
    """What the grouping knows of one shot."""

    index: int
    histogram: np.ndarray | None  # None: no frame of the shot could be measured
    characters: frozenset[str] = frozenset()
    model_scene: int | None = None


@dataclass(frozen=True)
class SceneRule:
    """The grouping's settings (see the module's docstring)."""

    threshold: float = 0.6
    with_characters: float = 0.75
    memory: int = 4


def colour_histogram(frames: list[np.ndarray]) -> np.ndarray:
    """The mean normalised HSV histogram of RGB uint8 frames."""
    import cv2

    total = np.zeros(int(np.prod(BINS)), np.float64)
    for rgb in frames:
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, list(BINS), [0, 180, 0, 256, 0, 256]).ravel()
        total += hist / max(hist.sum(), 1.0)
    return (total / max(len(frames), 1)).astype(np.float32)


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of two histograms: 0 for the same colours, 1 for none shared."""
    import cv2

    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def group_scenes(shots: list[ShotSummary], rule: SceneRule = SceneRule()) -> list[int]:
    """The scene number (0, 1, ...) of every shot, in the shots' order."""
    numbers: list[int] = []
    scene: list[ShotSummary] = []
    for shot in shots:
        if scene and not _same_scene(scene, shot, rule):
            scene = []
        scene.append(shot)
        numbers.append((numbers[-1] + (len(scene) == 1)) if numbers else 0)
    return numbers


def _same_scene(scene: list[ShotSummary], shot: ShotSummary, rule: SceneRule) -> bool:
    previous = scene[-1]
    if shot.model_scene is not None and previous.model_scene is not None:
        return shot.model_scene == previous.model_scene
    recent = [s for s in scene[-rule.memory:] if s.histogram is not None]
    if shot.histogram is None or not recent:
        return True
    nearest = min(colour_distance(s.histogram, shot.histogram) for s in recent)
    if nearest <= rule.threshold:
        return True
    shared = any(shot.characters & s.characters for s in recent)
    return shared and nearest <= rule.with_characters
