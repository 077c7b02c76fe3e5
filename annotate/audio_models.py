"""The dialogue stage's audio model backends, run with ``transformers`` from a hub id (already in the Hugging Face
cache when offline) or a local folder: speech recognition (``automatic-speech-recognition``: Whisper, wav2vec2
CTC, ...) and audio classification (``audio-classification``: a music genre or mood model). Audio is mono 16 kHz
float32, as ``annotate.sound`` reads it; it is resampled to the model's rate when that differs.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from annotate.errors import ModelError
from annotate.vlm_transformers import resolve_device

SAMPLE_RATE = 16_000


def load_pipeline(task: str, model: str, setting: str, device: str) -> Any:
    """A ``transformers`` pipeline, or a ModelError naming the setting to change."""
    from transformers import pipeline

    try:
        return pipeline(task, model=model, device=resolve_device(device))
    except (OSError, ValueError, KeyError) as error:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
        raise ModelError(f"{setting}: cannot load {model!r} as an {task} model from a local folder or the Hugging "
                         f"Face cache{' (HF_HUB_OFFLINE is set: no download)' if offline else ''}; set {setting} to a "
                         f"local model folder or a hub id available offline ({type(error).__name__}: {error})") \
            from error


class SpeechRecognizer:
    """Text of speech spans with an ASR model (``asr_model``)."""

    def __init__(self, model: str, device: str = "auto") -> None:
        self.name = model
        self._pipeline = load_pipeline("automatic-speech-recognition", model, "asr_model", device)

    def transcribe(self, samples: np.ndarray) -> str:
        """The text of one span of 16 kHz mono samples (stripped; may be empty)."""
        result = self._pipeline({"raw": samples.astype(np.float32), "sampling_rate": SAMPLE_RATE})
        return str(result.get("text") or "").strip()


class AudioTagger:
    """The most likely label of an audio classification model (``music_genre_model``, ``music_mood_model``)."""

    def __init__(self, model: str, setting: str, device: str = "auto") -> None:
        self.name = model
        self._pipeline = load_pipeline("audio-classification", model, setting, device)

    def label(self, samples: np.ndarray) -> tuple[str, float]:
        """The top label of 16 kHz mono samples and its score."""
        [best] = self._pipeline({"raw": samples.astype(np.float32), "sampling_rate": SAMPLE_RATE}, top_k=1)
        return str(best["label"]), float(best["score"])
