"""Motion and sound signals, measured in the keyframes stage's one decoding pass for the highlight stage.

Both are kept on one uniform grid of bins (``step_s`` seconds, bin ``k`` covering ``[k*step_s, (k+1)*step_s)``
from the first video frame) and written per video to ``OUT/signals/<video_id>.json``
(``schema/signals.schema.json``, a few KB per minute):

- ``motion``: motion activity, the mean absolute difference between a frame and the one before it, both as
  the 48x27 RGB frames TransNetV2 reads (0..255); the bin holds the mean over its frames (null: no frame pair);
- ``sound_db``: sound energy, the RMS of the audio over the bin and its channels in dBFS (floored at
  :data:`SILENCE_DB`; null: no sample in the bin), from the audio stream demuxed beside the video. No audio
  stream, or audio that fails to decode, leaves it null with the reason in ``sound_status``.
"""

from __future__ import annotations

import math

import av
import numpy as np

SILENCE_DB = -100.0  # digital silence (and anything quieter) is stored as this


class Bins:
    """Sums and counts per bin of a growing uniform grid."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self.sums = np.zeros(0)
        self.counts = np.zeros(0, np.int64)

    def add(self, bins: np.ndarray, values: np.ndarray) -> None:
        """Add ``values`` into bins ``bins`` (non-negative integers)."""
        if not len(bins):
            return
        size = int(bins.max()) + 1
        if size > len(self.sums):
            self.sums = np.pad(self.sums, (0, size - len(self.sums)))
            self.counts = np.pad(self.counts, (0, size - len(self.counts)))
        self.sums += np.bincount(bins, values, minlength=len(self.sums))
        self.counts += np.bincount(bins, minlength=len(self.counts))

    def sized(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Sums and counts of the first ``n`` bins (empty bins beyond the data)."""
        sums, counts = np.zeros(n), np.zeros(n, np.int64)
        m = min(n, len(self.sums))
        sums[:m], counts[:m] = self.sums[:m], self.counts[:m]
        return sums, counts


class MotionMeter:
    """Motion activity of consecutive small frames, binned by the later frame's time."""

    def __init__(self, step_s: float) -> None:
        self.bins = Bins(step_s)
        self.previous: np.ndarray | None = None

    def add(self, small: np.ndarray, time_s: float) -> None:
        frame = small.astype(np.int16)
        if self.previous is not None:
            value = float(np.abs(frame - self.previous).mean())
            self.bins.add(np.array([int(time_s // self.bins.step_s)]), np.array([value]))
        self.previous = frame

    def values(self, n: int) -> list[float | None]:
        sums, counts = self.bins.sized(n)
        return [round(float(s / c), 1) if c else None for s, c in zip(sums, counts)]


class SoundMeter:
    """Sound energy per bin from decoded audio frames (any format or layout; converted to planar float, each
    sample's power the mean over the channels; non-finite samples left out).

    Each frame is placed by its own timestamp (a frame without one follows the previous frame), so gaps in the
    audio stay gaps; times are put on the video's time line once the first video frame's absolute time is known
    (:meth:`set_origin`), and samples before it are left out."""

    def __init__(self, step_s: float) -> None:
        self.bins = Bins(step_s)
        self.resampler = av.AudioResampler(format="fltp")
        self.origin_s: float | None = None
        self.rate: int | None = None  # the first frame's sample rate
        self.samples = 0  # samples binned
        self.next_s = 0.0  # where a frame without a timestamp starts
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []

    def set_origin(self, absolute_s: float) -> None:
        """The absolute time of the video's first frame: time 0 of the bins."""
        self.origin_s = absolute_s
        for times, power in self.pending:
            self._bin(times, power)
        self.pending.clear()

    def add(self, frame: av.AudioFrame) -> None:
        rate = frame.sample_rate
        self.rate = self.rate or rate
        start = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else self.next_s
        for planar in self.resampler.resample(frame):
            power = (planar.to_ndarray().astype(np.float64) ** 2).mean(axis=0)
            times = start + np.arange(len(power)) / rate
            start += len(power) / rate
            if self.origin_s is None:
                self.pending.append((times, power))
            else:
                self._bin(times, power)
        self.next_s = start

    def _bin(self, times: np.ndarray, power: np.ndarray) -> None:
        times = times - self.origin_s
        keep = (times >= 0) & np.isfinite(power)
        self.samples += int(keep.sum())
        self.bins.add((times[keep] // self.bins.step_s).astype(np.int64), power[keep])

    def values(self, n: int) -> list[float | None]:
        sums, counts = self.bins.sized(n)
        return [round(max(SILENCE_DB, 10 * math.log10(s / c)) if s > 0 else SILENCE_DB, 1) if c else None
                for s, c in zip(sums, counts)]


def bin_count(duration_s: float, step_s: float) -> int:
    """Bins needed to cover ``duration_s`` (at least one)."""
    return max(1, math.ceil(round(duration_s / step_s, 9)))
