"""The text detector: RapidOCR's detection model run by OpenVINO, after a table-driven preprocessing, finds what
RapidOCR's own onnxruntime session and preprocessing find, on real frames with burned-in subtitles."""

from __future__ import annotations

import numpy as np
import pytest
from burned_subtitles import bunny, font_path, overlay
from PIL import Image, ImageFont

from annotate.texts import TablePreprocess, TextDetector, detector_model


@pytest.fixture(scope="module")
def subtitled(shared_data) -> list[np.ndarray]:
    """Big Buck Bunny frames at 640x360 and 1280x720, each with a line drawn on it (and one without)."""
    font = ImageFont.truetype(str(font_path()), 24)
    frames = bunny(shared_data, 60)[::12]
    out = []
    for i, (frame, line) in enumerate(zip(frames, ["你昨天晚上到底去哪里了", "Where were you last night?",
                                                     "明天早上八点在公司见", "See you at the office at eight.", ""])):
        image = Image.fromarray(frame).convert("RGBA")
        if line:
            image.alpha_composite(Image.fromarray(overlay(line, font)))
        rgb = np.asarray(image.convert("RGB"))
        out.append(rgb if i % 2 else np.asarray(Image.fromarray(rgb).resize((1280, 720))))
    return out


def test_openvino_finds_what_onnxruntime_finds(subtitled):
    from rapidocr_onnxruntime.utils import OrtInferSession

    detector, reference = TextDetector(), TextDetector()
    reference.engine.text_det.infer = OrtInferSession({"model_path": str(detector_model())})  # RapidOCR's own
    del reference.engine.text_det.get_preprocess  # RapidOCR's own preprocessing again
    found = [detector.detect(rgb) for rgb in subtitled]
    assert sum(1 for boxes in found if boxes) >= 4  # every drawn line is found
    for rgb, boxes in zip(subtitled, found):
        expected = reference.detect(rgb)
        assert len(boxes) == len(expected)
        for (box, _), (other, _) in zip(boxes, expected):
            np.testing.assert_allclose(box, other, atol=1.0)
    assert len(detector.engine.text_det.infer.requests) == 2  # one compiled model per frame size met


def test_table_preprocessing_gives_rapidocr_s_values(subtitled, shared_data):
    """Bit for bit RapidOCR's preprocessing on 720p, 360p and 160x90 frames."""
    import av

    with av.open(str(shared_data / "transnetv2-test.mp4")) as container:
        small = next(container.decode(video=0)).to_ndarray(format="rgb24")
    detector = TextDetector().engine.text_det
    for rgb in [*subtitled, small]:
        longest = max(rgb.shape[:2])
        table = detector.get_preprocess(longest)
        assert isinstance(table, TablePreprocess)
        expected = type(detector).get_preprocess(detector, longest)(rgb)
        got = table(rgb)
        assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"] and got.shape == expected.shape
        assert np.array_equal(got, expected)
    floats = subtitled[0].astype(np.float32)  # not uint8: RapidOCR's own code
    assert np.array_equal(detector.get_preprocess(1280)(floats), type(detector).get_preprocess(detector, 1280)(floats))
