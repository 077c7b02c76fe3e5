"""On-screen text (subtitles, name captions) with RapidOCR, whose PP-OCR models ship inside its wheel.

By default only the text detector runs and every region found is pixelated. With ``names`` the recogniser
reads each region and only regions whose text contains one of the names are kept. :meth:`TextDetector.reads`
(the privacy stage's self-audit) returns the given regions whose text the recogniser can still read, and
:meth:`TextDetector.readable` the regions found anywhere in an image whose text it reads. The privacy stage uses
text read for these decisions only and never stores it. :meth:`TextDetector.read` returns every region with its
text: the dialogue stage's subtitle reader (:mod:`annotate.subtitles`) keeps subtitle text, as the official
records keep dialogue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annotate.errors import ModelError
from annotate.openvino_cpu import StaticShapes
from builder.contract import Box

Read = list[tuple[Box, float | None]]  # regions and the recogniser's score (None: detection only)
REMEDY = "reinstall the annotate extra (pip install 'skyscript-100m[annotate]')"


def detector_model() -> Path:
    """The ONNX file of RapidOCR's text detector, found as RapidOCR finds it (its default config)."""
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH, read_yaml, update_model_path

    return Path(update_model_path(read_yaml(DEFAULT_CFG_PATH))["Det"]["model_path"])


class TablePreprocess:
    """RapidOCR's detector preprocessing (``DetPreProcess``: its resize, then its normalisation) with the
    normalisation looked up per channel and value in a table that RapidOCR's own ``normalize`` computes (float64
    arithmetic, then float32): the same values, in 6 ms instead of 30 on a 720p frame, laid out as the network
    reads them. Anything but a uint8 colour image goes through RapidOCR's own code."""

    def __init__(self, preprocess) -> None:
        self.preprocess = preprocess
        levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)  # [256, 1, 3]
        self.table = preprocess.normalize(levels).astype(np.float32)

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        import cv2

        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            return self.preprocess(image)
        resized = self.preprocess.resize(image)
        if resized is None:
            return None
        return np.ascontiguousarray(cv2.LUT(resized, self.table).transpose(2, 0, 1))[None]


class TextDetector:
    """Text regions of an RGB image as ``(box, score)``; ``score`` is None when only detection ran."""

    def __init__(self, box_threshold: float = 0.5, names: tuple[str, ...] = (), readable_score: float = 0.5) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ModelError("text detection needs rapidocr-onnxruntime (pip install 'skyscript-100m[annotate]'); "
                             "or set texts=false") from exc
        # limit type "max": small frames are never enlarged (the default enlarges them to 736 px, finding "text" in
        # noise), and frames under 1,500 px are searched at their own size (RapidOCR then picks the limit from the
        # frame's size); full resolution is what small captions need (benchmarks/privacy.py --recall)
        self.engine = RapidOCR(det_box_thresh=box_threshold, det_limit_type="max")
        # the detector runs in OpenVINO, f32: its maps equal onnxruntime's within 2e-7, at 2.5x its speed on a
        # 720p frame (the recogniser reads small crops: it stays on onnxruntime)
        self.engine.text_det.infer = StaticShapes(detector_model(), "f32", REMEDY)
        choose = self.engine.text_det.get_preprocess  # RapidOCR's preprocessing for a frame's longest side
        self.engine.text_det.get_preprocess = lambda longest: TablePreprocess(choose(longest))
        self.names = tuple(n.casefold() for n in names if n)
        self.readable_score = readable_score
        self.name = "rapidocr-ppocrv4" + ("+names" if self.names else "")

    def _run(self, rgb: np.ndarray, read: bool) -> list[tuple[Box, str | None, float | None]]:
        result, _ = self.engine(np.ascontiguousarray(rgb), use_det=True, use_cls=False, use_rec=read)
        regions = []
        for item in result or []:
            points = np.asarray(item[0] if read else item, dtype=np.float32)
            box = [float(points[:, 0].min()), float(points[:, 1].min()),
                   float(points[:, 0].max()), float(points[:, 1].max())]
            regions.append((box, str(item[1]) if read else None, float(item[2]) if read else None))
        return regions

    def read(self, rgb: np.ndarray) -> list[tuple[Box, str, float]]:
        """Every region with the text the recogniser reads in it and its score (``names`` do not apply)."""
        return [(box, str(text), float(score or 0.0)) for box, text, score in self._run(rgb, read=True)]

    def detect(self, rgb: np.ndarray) -> list[tuple[Box, float | None]]:
        """Regions to pixelate: all that the detector finds, or those naming one of ``names``."""
        if not self.names:
            return [(box, None) for box, _, _ in self._run(rgb, read=False)]
        return [(box, score) for box, text, score in self._run(rgb, read=True)
                if any(name in text.casefold() for name in self.names)]

    def readable(self, rgb: np.ndarray) -> Read:
        """Regions the detector finds whose text the recogniser reads (:meth:`_legible`)."""
        return [(box, score) for box, text, score in self._run(rgb, read=True) if self._legible(text, score)]

    def reads(self, rgb: np.ndarray, regions: list[tuple[int, int, int, int]]) -> Read:
        """Of ``regions`` (``x0, y0, x1, y1`` in whole pixels of ``rgb``), those whose content the recogniser,
        given each region as it is (no detection; all in batches), reads (:meth:`_legible`)."""
        regions = [r for r in regions if r[2] - r[0] >= 2 and r[3] - r[1] >= 2]
        if not regions:
            return []
        read, _ = self.engine.text_rec([np.ascontiguousarray(rgb[y0:y1, x0:x1]) for x0, y0, x1, y1 in regions])
        return [([float(v) for v in region], float(score)) for region, (text, score, *_) in zip(regions, read)
                if self._legible(str(text), float(score))]

    def _legible(self, text: str, score: float) -> bool:
        """Text read with at least ``readable_score`` (with ``names``: naming one of them)."""
        return bool(text.strip()) and score >= self.readable_score and (
            not self.names or any(name in text.casefold() for name in self.names))
