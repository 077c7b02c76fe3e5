"""TransformersClient on tiny random models built from configs (a Llava and a Llama), saved to a tmp folder."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from annotate.errors import ModelError
from annotate.vlm import ChatRequest, GenerationSettings
from annotate.vlm_transformers import TransformersClient

GREEDY = GenerationSettings(max_new_tokens=8, temperature=0.0)


@pytest.fixture(scope="module")
def llava(tiny_models) -> TransformersClient:
    return TransformersClient(str(tiny_models["llava"]), device="cpu", batch_size=3)


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def requests() -> list[ChatRequest]:
    """Three requests with 1, 2 and 1 images of different sizes, and different texts."""
    return [
        ChatRequest("a", "You describe drone shots.", "Describe the city.", (jpeg(40, 30, (200, 30, 30)),)),
        ChatRequest("b", "You describe drone shots.", "A river flows under the bridge at sunset, describe it.",
                    (jpeg(64, 48, (20, 160, 40)), jpeg(24, 24, (10, 10, 220)))),
        ChatRequest("c", "Answer in JSON.", "tags?", (jpeg(33, 57, (240, 240, 240)),)),
    ]


def test_loads_a_vision_model_from_a_folder(llava, tiny_models):
    assert llava.model == str(tiny_models["llava"])
    assert llava.revision is None
    assert llava.is_vision
    assert llava.device == "cpu" and llava.dtype == torch.float32


def test_answers_every_request_in_order(llava, requests):
    answers = llava.complete(requests, GREEDY)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    assert any(answers), "the tiny model should say something"


def test_greedy_is_deterministic(llava, requests):
    assert llava.complete(requests, GREEDY) == llava.complete(requests, GREEDY)


def test_batch_size_does_not_change_answers(tiny_models, llava, requests):
    one_by_one = TransformersClient(str(tiny_models["llava"]), device="cpu", batch_size=1)
    alone = one_by_one.complete(requests, GREEDY)
    assert alone == llava.complete(requests, GREEDY)  # batch of 3, left padded
    assert len(set(alone)) > 1, "different prompts should give different answers"


def test_max_new_tokens_bounds_the_answer(llava, requests):
    tokenizer = llava._tokenizer
    short = llava.complete(requests, GenerationSettings(max_new_tokens=3))
    long = llava.complete(requests, GenerationSettings(max_new_tokens=12))
    for s, l in zip(short, long):
        assert len(tokenizer(s, add_special_tokens=False)["input_ids"]) <= 3
        assert l.startswith(s)
    assert max(len(a) for a in long) > max(len(a) for a in short)


def test_sampling_is_seeded(llava, requests):
    settings = GenerationSettings(max_new_tokens=8, temperature=1.0, top_p=0.9, seed=7)
    assert llava.complete(requests, settings) == llava.complete(requests, settings)


def test_text_only_model_answers_a_text_request(tiny_models):
    client = TransformersClient(str(tiny_models["llama"]), device="cpu")
    assert not client.is_vision
    request = ChatRequest("fix", "Repair the JSON.", '{"caption": "a city", "tags": [')
    answers = client.complete([request, ChatRequest("b", "", "tags?")], GREEDY)
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    assert answers == client.complete([request, ChatRequest("b", "", "tags?")], GREEDY)
    with pytest.raises(ModelError, match="model"):
        client.complete([ChatRequest("img", "", "what?", (jpeg(8, 8, (0, 0, 0)),))], GREEDY)


def test_missing_model_raises_model_error(tmp_path):
    with pytest.raises(ModelError) as error:
        TransformersClient(str(tmp_path / "no-such-model"), device="cpu")
    assert "model" in str(error.value)


def test_a_request_without_images_can_share_a_batch_with_images(tiny_models, llava, requests):
    textual = ChatRequest("t", "", "No image here.")
    together = TransformersClient(str(tiny_models["llava"]), device="cpu", batch_size=4)
    answers = together.complete(requests + [textual], GREEDY)
    assert answers == llava.complete(requests, GREEDY) + llava.complete([textual], GREEDY)
