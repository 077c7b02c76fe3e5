"""Shared test setup: offline Hugging Face libraries, a private cache, the real data in ../shared/data."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# before any test imports datasets/huggingface_hub: never touch the network, never the user's cache
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="skyscript-hf-home-")  # isolated from the user's cache
os.environ["DEEPFACE_HOME"] = tempfile.mkdtemp(prefix="skyscript-deepface-home-")  # deepface writes its folders there
os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(REPO / "tests"))  # tests/factories.py

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real videos and the official sample records); required."""
    assert SHARED_DATA.is_dir(), f"tests need the shared data folder at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture()
def hub(monkeypatch):
    """The in-process fake Hub (``tests/fake_hub.py``), online (the env and the constant huggingface_hub reads) and
    with a token only while a test talks to it; the previous client factory is restored afterwards."""
    from fake_hub import TOKEN, FakeHub
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with FakeHub().installed() as fake:
        yield fake
