"""The offline face models on a real labelled face: scikit-image's astronaut photograph (Eileen Collins, NASA,
public domain: a woman of about 42, smiling; born 1956, the STS-93 portrait of 1998-99), shipped inside the
scikit-image wheel (a deface dependency)."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.errors import ModelError
from annotate.face_models import EMOTIONS, FaceEmbedder, OfflineFaceAttributes, face_crop, make_face_attributes
from annotate.faces import make_face_detectors
from annotate.tta import AUGMENTATIONS, read_with_tta


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    rgb = data.astronaut()
    (box, score), = make_face_detectors("centerface", 0.5, 320, None)[0].detect(rgb)
    return rgb, box


@pytest.fixture(scope="module")
def attributes():
    return OfflineFaceAttributes()


def test_crop_scales_the_face_to_a_fixed_height(astronaut):
    rgb, box = astronaut
    crop, inner = face_crop(rgb, box, face_px=112)
    assert inner[3] - inner[1] == pytest.approx(112, abs=0.5)
    assert 0 <= inner[0] < inner[2] <= crop.shape[1] and 0 <= inner[1] < inner[3] <= crop.shape[0]


def test_age_gender_and_emotion_of_a_known_face(astronaut, attributes):
    crop, inner = face_crop(*astronaut)
    reading = attributes.read(crop, inner)
    assert reading.gender == "female" and reading.gender_p > 0.8
    assert 30 <= reading.age <= 52  # about 42 at the time
    assert reading.emotion == "happy" and reading.emotion_p > 0.5
    assert set(reading.emotions) == set(EMOTIONS) and sum(reading.emotions.values()) == pytest.approx(1.0)
    assert 0 < reading.age_p <= 1


def test_tta_pools_every_augmentation(astronaut, attributes):
    crop, inner = face_crop(*astronaut)
    pooled = read_with_tta(attributes, crop, inner)
    assert pooled.augmentations == len(AUGMENTATIONS) == 10
    assert pooled.reading.gender == "female" and pooled.reading.emotion == "happy"
    assert all(0 <= n <= pooled.augmentations for n in pooled.agreed.values())
    assert pooled.agreed["emotion"] >= 8 and pooled.agreed["gender"] >= 8


def test_the_same_face_embeds_close_and_another_far(astronaut):
    embedder = FaceEmbedder()
    crop, inner = face_crop(*astronaut)
    one = embedder.embed(crop, inner)
    mirrored = embedder.embed(np.ascontiguousarray(crop[:, ::-1]),
                              [crop.shape[1] - inner[2], inner[1], crop.shape[1] - inner[0], inner[3]])
    assert one.shape == (128,) and np.linalg.norm(one - mirrored) < 0.6
    noise = np.random.default_rng(0).integers(0, 255, crop.shape, dtype=np.uint8)
    other = embedder.embed(noise, inner)
    assert other is None or np.linalg.norm(one - other) > 0.6


def test_missing_model_files_name_the_setting(tmp_path):
    with pytest.raises(ModelError, match="calibrate.emotion_model"):
        OfflineFaceAttributes(str(tmp_path / "missing.tflite"))
    with pytest.raises(ModelError, match="calibrate.embedding_model"):
        FaceEmbedder(model=str(tmp_path / "missing.dat"))
    with pytest.raises(ModelError, match="face_backend 'x'"):
        make_face_attributes("x", None, None)


def test_deepface_without_its_weights_names_deepface_home(tmp_path):
    with pytest.raises(ModelError, match="age_model_weights.*deepface_home"):
        make_face_attributes("deepface", None, str(tmp_path))
    assert not list(tmp_path.rglob("*weights*.*"))  # nothing fetched or half-written
