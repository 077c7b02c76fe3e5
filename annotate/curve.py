"""The highlight curve's arithmetic: signals onto a uniform grid, smoothing, per-video normalisation, cut rhythm,
the characters' V/A/D between keyframes, and peaks. Plain numpy on arrays; ``annotate.highlight`` documents the
formula and supplies the settings."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def grid(duration_s: float, step_s: float) -> np.ndarray:
    """Uniform times ``0, step, 2*step, ...`` covering ``[0, duration_s]``: the last lies within one step of the end."""
    return np.arange(max(1, math.floor(round(duration_s / step_s, 9)) + 1)) * step_s


def fill_gaps(values: Sequence[float | None]) -> np.ndarray | None:
    """Bins as floats with missing ones (None, NaN) linearly interpolated (held at the ends); None when all miss."""
    array = np.array([np.nan if v is None else v for v in values], float)
    known = ~np.isnan(array)
    if not known.any():
        return None
    index = np.arange(len(array))
    return np.interp(index, index[known], array[known])


def smooth(values: np.ndarray, step_s: float, window_s: float) -> np.ndarray:
    """A Hann-window moving average ``window_s`` wide (an odd number of taps, centred); weights renormalised at
    the ends, so a constant stays constant up to the edges."""
    taps = int(round(window_s / step_s)) // 2 * 2 + 1
    if taps < 3 or len(values) < 2:
        return values.astype(float)
    kernel = np.hanning(taps + 2)[1:-1]  # no zero end taps
    centred = slice(taps // 2, taps // 2 + len(values))  # "same" by hand: numpy's is longer for short input
    weighted = np.convolve(values, kernel, mode="full")[centred]
    norm = np.convolve(np.ones(len(values)), kernel, mode="full")[centred]
    return weighted / norm


def on_grid(bins: np.ndarray, step_s: float, times: np.ndarray) -> np.ndarray:
    """Bin values (bin ``k`` covering ``[k*step_s, (k+1)*step_s)``) sampled at ``times`` from the bin centres."""
    centres = (np.arange(len(bins)) + 0.5) * step_s
    return np.interp(times, centres, bins)


def normalise(values: np.ndarray, min_range: float) -> np.ndarray:
    """``(x - min) / max(max - min, min_range)``: 0..1 within the video; a component varying less than
    ``min_range`` (its noise floor) stays proportionally small, a constant one is 0."""
    low = float(values.min())
    span = max(float(values.max()) - low, min_range)
    return (values - low) / span if span > 0 else np.zeros_like(values, dtype=float)


def cut_rhythm(times: np.ndarray, shots: Sequence[tuple[float, float]], tau_s: float) -> np.ndarray:
    """``exp(-L / tau_s)`` with ``L`` the length of the shot holding each time (Hanjalic and Xu's rhythm: short
    shots, fast cutting, high arousal); times outside every shot take the nearest shot's value."""
    starts = np.array([s for s, _ in shots], float)
    lengths = np.array([max(e - s, 0.0) for s, e in shots], float)
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(shots) - 1)
    return np.exp(-lengths[index] / tau_s)


def hold_between(knot_times: Sequence[float], knot_values: Sequence[float], times: np.ndarray) -> np.ndarray:
    """Keyframe values on the grid: linear between consecutive keyframes, held before the first and after the last
    (several keyframes at one time are averaged)."""
    merged: dict[float, list[float]] = {}
    for t, v in zip(knot_times, knot_values):
        merged.setdefault(float(t), []).append(float(v))
    xs = sorted(merged)
    return np.interp(times, xs, [sum(merged[x]) / len(merged[x]) for x in xs])


def peaks(score: np.ndarray, times: np.ndarray, prominence: float) -> list[dict]:
    """Local maxima of ``score`` standing at least ``prominence`` above the higher of the two valleys that
    separate each from a higher part of the curve (scipy's prominence); a plateau counts once, at its middle. The
    curve is padded with its minimum on both sides, so it may peak at its first or last point too."""
    from scipy.signal import find_peaks

    low = float(score.min())
    found, properties = find_peaks(np.concatenate([[low], score, [low]]), prominence=prominence)
    return [{"time_s": round(float(times[i - 1]), 3), "score": round(float(score[i - 1]), 4),
             "prominence": round(float(p), 4)} for i, p in zip(found, properties["prominences"])]


def span_value(score: np.ndarray, times: np.ndarray, start_s: float, end_s: float, how: str = "mean") -> float:
    """The curve's mean (or max) over ``[start_s, end_s)``; a span between two grid points takes the value at its
    middle."""
    inside = (times >= start_s) & (times < end_s)
    if inside.any():
        return float(score[inside].max() if how == "max" else score[inside].mean())
    return float(np.interp((start_s + end_s) / 2, times, score))
