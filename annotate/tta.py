"""Test-time augmentation (paper 3.4) for the face attribute models: the face read again from slightly changed
crops, the answers pooled.

The crops (:data:`AUGMENTATIONS`, in this order): the original; mirrored left-right; the face box 10% tighter and
15% looser; moved by 6% of the face's size left, right, up and down; brightness x0.75 and x1.25. Pooling: gender
by the mean probability of ``male``, emotion by the mean distribution (its argmax), age by the median of the years
(its probability: the mean of the readings'). ``agreed`` counts the readings whose own answer equals the pooled
one (age: the same age class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from annotate.affect import age_class
from annotate.face_models import EMOTIONS, FaceAttributes, FaceReading
from builder.contract import Box

Augmentation = Callable[[np.ndarray, Box], tuple[np.ndarray, Box]]


def _scaled(factor: float) -> Augmentation:
    def apply(crop: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        hw, hh = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
        return crop, [cx - hw, cy - hh, cx + hw, cy + hh]
    return apply


def _shifted(dx: float, dy: float) -> Augmentation:
    def apply(crop: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
        w, h = box[2] - box[0], box[3] - box[1]
        return crop, [box[0] + dx * w, box[1] + dy * h, box[2] + dx * w, box[3] + dy * h]
    return apply


def _brightness(factor: float) -> Augmentation:
    def apply(crop: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
        return np.clip(crop.astype(np.float32) * factor, 0, 255).astype(np.uint8), box
    return apply


def _mirrored(crop: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
    width = crop.shape[1]
    return np.ascontiguousarray(crop[:, ::-1]), [width - box[2], box[1], width - box[0], box[3]]


AUGMENTATIONS: tuple[tuple[str, Augmentation], ...] = (
    ("original", lambda crop, box: (crop, box)),
    ("mirror", _mirrored),
    ("tighter", _scaled(0.9)),
    ("looser", _scaled(1.15)),
    ("left", _shifted(-0.06, 0)),
    ("right", _shifted(0.06, 0)),
    ("up", _shifted(0, -0.06)),
    ("down", _shifted(0, 0.06)),
    ("darker", _brightness(0.75)),
    ("brighter", _brightness(1.25)),
)


@dataclass(frozen=True)
class Pooled:
    """The pooled reading and how many of the augmented readings agree with each of its answers."""

    reading: FaceReading
    augmentations: int
    agreed: dict[str, int | None]


def _inside(crop: np.ndarray, box: Box) -> Box:
    height, width = crop.shape[:2]
    return [max(0.0, box[0]), max(0.0, box[1]), min(width - 1.0, box[2]), min(height - 1.0, box[3])]


def read_with_tta(model: FaceAttributes, crop: np.ndarray, box: Box) -> Pooled:
    """``model``'s reading of the face pooled over :data:`AUGMENTATIONS`."""
    readings = [model.read(c, _inside(c, b)) for c, b in (apply(crop, box) for _, apply in AUGMENTATIONS)]
    male = [r.gender_p if r.gender == "male" else 1 - r.gender_p for r in readings
            if r.gender is not None and r.gender_p is not None]
    gender = gender_p = None
    if male:
        p_male = float(np.mean(male))
        gender, gender_p = ("male", p_male) if p_male > 0.5 else ("female", 1 - p_male)
    emotions = None
    distributions = [r.emotions for r in readings if r.emotions]
    if distributions:
        emotions = {e: float(np.mean([d.get(e, 0.0) for d in distributions])) for e in EMOTIONS}
    ages = [r.age for r in readings if r.age is not None]
    age = float(np.median(ages)) if ages else None
    age_ps = [r.age_p for r in readings if r.age_p is not None]
    pooled = FaceReading(age=age, age_p=float(np.mean(age_ps)) if age_ps else None, gender=gender,
                         gender_p=gender_p, emotions=emotions)
    agreed = {
        "age": None if age is None else sum(r.age is not None and age_class(r.age) == age_class(age)
                                            for r in readings),
        "gender": None if gender is None else sum(r.gender == gender for r in readings),
        "emotion": None if emotions is None else sum(r.emotion == pooled.emotion for r in readings),
    }
    return Pooled(pooled, len(readings), agreed)
