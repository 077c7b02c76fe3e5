"""On-screen text (subtitles, name captions) with RapidOCR, whose PP-OCR models ship inside its wheel.

By default only the text detector runs and every region found is pixelated. With ``names`` the recogniser
reads each region and only regions whose text contains one of the names are kept. :meth:`TextDetector.readable`
(the self-audit) returns the regions whose text the recogniser can still read. The privacy stage uses text read for
these decisions only and never stores it. :meth:`TextDetector.read` returns every region with its text: the
dialogue stage's subtitle reader (:mod:`annotate.subtitles`) keeps subtitle text, as the official records keep
dialogue.
"""

from __future__ import annotations

import numpy as np

from annotate.errors import ModelError
from builder.contract import Box



class TextDetector:
    """Text regions of an RGB image as ``(box, score)``; ``score`` is None when only detection ran."""

    def __init__(self, box_threshold: float = 0.5, names: tuple[str, ...] = (), readable_score: float = 0.5,
                 limit_side: int = 1280) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ModelError("text detection needs rapidocr-onnxruntime (pip install 'skyscript-100m[annotate]'); "
                             "or set texts=false") from exc
        # never upscale small frames (RapidOCR enlarges them to 736 px, finding "text" in noise); cap large ones
        self.engine = RapidOCR(det_box_thresh=box_threshold, det_limit_type="max", det_limit_side_len=limit_side)
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

    def readable(self, rgb: np.ndarray) -> list[tuple[Box, float | None]]:
        """Regions whose text the recogniser still reads with at least ``readable_score`` (with ``names``: only
        those naming one of them)."""
        return [(box, score) for box, text, score in self._run(rgb, read=True)
                if text.strip() and score >= self.readable_score
                and (not self.names or any(name in text.casefold() for name in self.names))]
