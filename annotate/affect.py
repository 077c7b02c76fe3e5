"""What the face models' answers mean next to the extraction's words: valence/arousal/dominance from emotion
probabilities, and the extraction's free-text age, gender and emotion as the face models' classes.

V/A/D: each basic emotion's pleasure, arousal and dominance (PAD, -1..1) from Russell and Mehrabian (1977),
"Evidence for a three-factor theory of emotions", Journal of Research in Personality 11(3), 273-294, as tabulated
for the six basic emotions by Hoffmann et al. (2012), "Mapping discrete emotions into the dimensional space: an
empirical approach", IEEE SMC; neutral is the origin. A face's V/A/D is the expectation over its emotion
probabilities, scaled to the records' 1..9 (``5 + 4 * x``).
"""

from __future__ import annotations

import re

#: emotion -> (pleasure, arousal, dominance) on -1..1
PAD: dict[str, tuple[float, float, float]] = {
    "angry": (-0.51, 0.59, 0.25),
    "disgust": (-0.60, 0.35, 0.11),
    "fear": (-0.64, 0.60, -0.43),
    "happy": (0.81, 0.51, 0.46),
    "sad": (-0.63, -0.27, -0.33),
    "surprise": (0.40, 0.67, -0.13),
    "neutral": (0.0, 0.0, 0.0),
}

#: the Table 3 prompt's age words, with the face model's years that fall in each (lower bounds)
AGE_CLASSES = (("child", 0), ("teenager", 13), ("adult", 20), ("elderly", 60))

#: words the extraction may use, per face-model class (word beginnings; ``$``: the whole word); a text matching two
#: classes is not comparable
_EMOTION_WORDS = {
    "happy": ("happ", "joy", "cheer", "smil", "delight", "pleas", "amus", "laugh", "glad", "content", "excit"),
    "sad": ("sad", "sorrow", "upset", "cry", "tear", "melanchol", "depress", "gloom", "disappoint", "grie",
            "unhapp"),
    "angry": ("angr", "anger", "furious", "fury", "annoy", "irritat", "mad$", "rage", "hostil", "frustrat"),
    "fear": ("fear", "afraid", "scare", "frighten", "anxi", "nervous", "worr", "terrif", "panic"),
    "surprise": ("surpris", "shock", "astonish", "amaz", "startl", "stun"),
    "disgust": ("disgust", "contempt", "repuls", "revolt", "disdain"),
    "neutral": ("neutral", "calm", "serious", "focus", "compos", "expressionless", "thought", "indifferen",
                "relax", "blank", "pensive"),
}
_GENDER_WORDS = {"female": ("female", "woman", "women", "girl", "lady"), "male": ("male", "man", "men", "boy")}
_AGE_WORDS = {"child": ("child", "kid", "infant", "baby", "toddler", "boy", "girl"),
              "teenager": ("teen", "adolescen", "youth"),
              "adult": ("adult", "young", "middle", "grown"),
              "elderly": ("elder", "old", "senior", "aged", "grand")}


def vad_from_emotions(emotions: dict[str, float]) -> dict[str, float]:
    """Expected V/A/D (1..9) of an emotion distribution over :data:`PAD`'s classes."""
    total = sum(emotions.get(e, 0.0) for e in PAD) or 1.0
    out = []
    for axis in range(3):
        value = sum(emotions.get(e, 0.0) * pad[axis] for e, pad in PAD.items()) / total
        out.append(round(5 + 4 * value, 2))
    return dict(zip(("valence", "arousal", "dominance"), out))


def age_class(years: float) -> str:
    """The prompt's age word for an age in years."""
    return [name for name, low in AGE_CLASSES if years >= low][-1]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _one_class(text: str, vocabulary: dict[str, tuple[str, ...]], whole: bool = False) -> str | None:
    words = _words(text)
    found = {name for name, stems in vocabulary.items() for w in words for s in stems
             if (w == s.rstrip("$") if whole or s.endswith("$") else w.startswith(s))}
    return found.pop() if len(found) == 1 else None


def emotion_class(text: str | None) -> str | None:
    """The face model's class an extraction's emotion words name, or None (empty, unknown or mixed)."""
    return _one_class(text, _EMOTION_WORDS) if text else None


def gender_class(text: str | None) -> str | None:
    """``female``/``male`` from the extraction's gender words, or None."""
    return _one_class(text, _GENDER_WORDS, whole=True) if text else None


def extraction_age_class(text: str | None) -> str | None:
    """The age word of an extraction's age (``"adult"``, ``"25-30"``, ``"30s"``), or None."""
    if not text:
        return None
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if numbers:
        return age_class(sum(numbers) / len(numbers))
    return _one_class(text, _AGE_WORDS)
