"""V/A/D from emotion probabilities, and the extraction's words as the face models' classes."""

from __future__ import annotations

import pytest

from annotate.affect import PAD, age_class, emotion_class, extraction_age_class, gender_class, vad_from_emotions


def test_vad_of_one_emotion_is_its_pad_value_on_1_to_9():
    assert vad_from_emotions({"neutral": 1.0}) == {"valence": 5.0, "arousal": 5.0, "dominance": 5.0}
    happy = vad_from_emotions({"happy": 1.0})
    assert happy == {"valence": round(5 + 4 * PAD["happy"][0], 2), "arousal": round(5 + 4 * PAD["happy"][1], 2),
                     "dominance": round(5 + 4 * PAD["happy"][2], 2)}
    assert happy["valence"] > 8 and vad_from_emotions({"sad": 1.0})["valence"] < 3
    assert vad_from_emotions({"fear": 1.0})["dominance"] < 5 < vad_from_emotions({"angry": 1.0})["dominance"]


def test_vad_is_the_expectation_over_the_distribution():
    mixed = vad_from_emotions({"happy": 0.5, "sad": 0.5})
    assert mixed["valence"] == pytest.approx(5 + 4 * (PAD["happy"][0] + PAD["sad"][0]) / 2, abs=0.01)
    assert all(1 <= v <= 9 for e in PAD for v in vad_from_emotions({e: 1.0}).values())


@pytest.mark.parametrize("text,expected", [
    ("Joyful", "happy"), ("smiling warmly", "happy"), ("furious", "angry"), ("mad", "angry"),
    ("made a call", None), ("calm", "neutral"), ("shocked", "surprise"), ("anxious", "fear"),
    ("sad but angry", None), ("determined", None), (None, None), ("", None),
])
def test_emotion_words(text, expected):
    assert emotion_class(text) == expected


def test_gender_and_age_words():
    assert [gender_class(t) for t in ("male", "Woman", "a young girl", "unknown", None)] == \
           ["male", "female", "female", None, None]
    assert [extraction_age_class(t) for t in ("adult", "25-30", "30s", "elderly", "teenager", "7", "?")] == \
           ["adult", "adult", "adult", "elderly", "teenager", "child", None]
    assert [age_class(y) for y in (4, 13, 19.5, 20, 59, 60)] == \
           ["child", "teenager", "teenager", "adult", "adult", "elderly"]
