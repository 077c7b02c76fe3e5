"""OpenVINO on the CPU for the pipeline's models: imported without telemetry, compiled once per process under one
thread policy.

Users: TransNetV2 (:mod:`annotate.transnetv2_openvino`, exported to OpenVINO IR) and PP-OCR's text detector
(:class:`StaticShapes` on the ONNX file inside the RapidOCR wheel, :mod:`annotate.texts`).

Threads: a model runs on as many threads as torch may use in this process (``torch.get_num_threads()``: all
cores, or ``OMP_NUM_THREADS``, which ``accelerate launch`` sets to the cores per process), without pinning
threads to cores: several processes on one machine would otherwise pin theirs to the same cores and queue behind
each other (seen 5-10x slower under load). A model whose calls are independent (TransNetV2's windows) may be
compiled for throughput instead of latency: OpenVINO splits those threads into streams (2 of one thread each on
2 cores) that run as many calls at once, faster in all for small convolutions than every thread on one call.

Importing ``openvino`` normally starts its usage telemetry (events sent to Google Analytics, a client id
written to ``~/intel``); :func:`import_openvino` imports it with the telemetry package blocked, so OpenVINO
uses its own no-op stub: a pipeline run stays offline and writes nothing outside its folders and the cache.
"""

from __future__ import annotations

import importlib.metadata
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from annotate.errors import ModelError

_compiled: dict[tuple[str, str, int, bool], object] = {}
_lock = threading.Lock()


def import_openvino():
    """The ``openvino`` module with its telemetry off (see the module's doc); ``None`` when it is not installed."""
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # its import fails: openvino falls back to a stub
    try:
        import openvino
    except ImportError:
        return None
    return openvino


def openvino_version() -> str:
    try:
        return importlib.metadata.version("openvino")
    except importlib.metadata.PackageNotFoundError:  # an unpackaged build
        return import_openvino().get_version().split("-")[0]


def bf16_supported() -> bool:
    """Whether OpenVINO's CPU plugin offers bf16 here (AMX or AVX512-BF16 on x86)."""
    ov = import_openvino()
    return ov is not None and "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _compile(path: Path, precision: str, shape: tuple[int, ...] | None, remedy: str, throughput: bool = False):
    """``path`` (OpenVINO IR or ONNX) compiled for the CPU in ``precision`` (``f32`` or ``bf16``), its first input
    fixed to ``shape`` when given, for throughput (streams) or else for latency; errors name the file and
    ``remedy``."""
    ov = import_openvino()
    if ov is None:
        raise ModelError(f"running {path.name} needs openvino: {remedy}")
    core = ov.Core()
    try:
        model = core.read_model(str(path))
        if shape is not None:
            model.reshape({model.inputs[0]: ov.PartialShape(list(shape))})
        config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": _threads(),
                  "ENABLE_CPU_PINNING": False}
        if throughput:
            config["PERFORMANCE_HINT"] = "THROUGHPUT"
        compiled = core.compile_model(model, "CPU", config)
    except Exception as exc:
        raise ModelError(f"OpenVINO cannot read or compile {str(path)!r} ({exc}): {remedy}") from exc
    used = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # an ov.Type
    if used != precision:
        raise ModelError(f"OpenVINO compiled {path.name} with {used}, not the {precision} asked for: {remedy}")
    return compiled


def compile_model(path: Path, precision: str, remedy: str, throughput: bool = False):
    """The compiled model for a model file, a precision and ``throughput`` (see the module's doc), once per
    process (and thread count): every user of it in the process shares one. Errors end with ``remedy``: what the
    user can do (a setting that avoids this model, a reinstall)."""
    key = (str(path), precision, _threads(), throughput)
    with _lock:
        if key not in _compiled:
            _compiled[key] = _compile(path, precision, None, remedy, throughput)
        return _compiled[key]


class StaticShapes:
    """A model with dynamic input axes (an ONNX file) run by OpenVINO like an onnxruntime session:
    ``session(array) -> [outputs]``. It is compiled for each input shape it meets, the last ``keep`` shapes kept
    (a video's frames share one): faster than one compilation for every shape (PP-OCR's detector on a 720p frame
    on 2 cores: 107 ms against 130 ms; onnxruntime 265 ms), for about 0.5 s per new shape."""

    def __init__(self, path: Path, precision: str, remedy: str, keep: int = 4) -> None:
        self.path, self.precision, self.remedy, self.keep = Path(path), precision, remedy, keep
        self.requests: OrderedDict[tuple[int, ...], object] = OrderedDict()

    def __call__(self, array: np.ndarray) -> list[np.ndarray]:
        shape = tuple(array.shape)
        if shape in self.requests:
            self.requests.move_to_end(shape)
        else:
            self.requests[shape] = _compile(self.path, self.precision, shape, self.remedy).create_infer_request()
            if len(self.requests) > self.keep:
                self.requests.popitem(last=False)
        result = self.requests[shape].infer({0: np.ascontiguousarray(array)})
        return [np.array(result[i]) for i in range(len(result))]  # copies: the request reuses its buffers
