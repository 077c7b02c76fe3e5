"""TransformersClient on tiny random models built from configs (a Llava and a Llama), saved to a tmp folder."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from annotate.errors import ModelError
from annotate.vlm import ChatRequest, GenerationSettings, ResponseCache, sha256_text
from annotate.vlm_openai import OpenAIClient
from annotate.vlm_transformers import SeededSampling, TransformersClient

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


@pytest.fixture(scope="module")
def llama(tiny_models) -> TransformersClient:
    return TransformersClient(str(tiny_models["llama"]), device="cpu", batch_size=4)


def test_a_request_seed_gives_the_same_sample_alone_or_in_any_batch(tiny_models, llama):
    settings = GenerationSettings(max_new_tokens=12, temperature=1.0, top_p=0.9, seed=0)
    request = ChatRequest("r", "Repair the JSON.", '{"caption": "a city", "tags": [', seed=7)
    others = [ChatRequest("a", "", "tags?", seed=1), ChatRequest("b", "You describe drone shots.", "A river."),
              ChatRequest("c", "", "Describe the city in one long sentence.", seed=123)]
    one_by_one = TransformersClient(str(tiny_models["llama"]), device="cpu", batch_size=1)
    alone = one_by_one.complete([request], settings)[0]
    assert alone
    assert llama.complete([others[0], request] + others[1:], settings)[1] == alone  # one batch of 4
    assert llama.complete(others + [request], settings)[3] == alone  # last of a batch, then a batch of its own


def test_different_seeds_give_different_samples(llama):
    settings = GenerationSettings(max_new_tokens=12, temperature=1.5)
    requests = [ChatRequest(f"s{seed}", "", "tags?", seed=seed) for seed in range(6)]
    assert len(set(llama.complete(requests, settings))) >= 3


def test_seeded_sampling_draws_from_the_softmax():
    logits = torch.tensor([0.6, 0.2, 0.15, 0.05]).log().expand(4000, 4)
    drawn = SeededSampling(list(range(4000)), 1.0, 1.0)(torch.zeros(4000, 1, dtype=torch.long), logits).argmax(-1)
    frequencies = torch.bincount(drawn, minlength=4).double() / 4000
    assert torch.allclose(frequencies, torch.tensor([0.6, 0.2, 0.15, 0.05], dtype=torch.double), atol=0.03)
    nucleus = SeededSampling(list(range(4000)), 1.0, 0.5)(torch.zeros(4000, 1, dtype=torch.long), logits)
    assert (nucleus.argmax(-1) == 0).all()


def key_without_seeds(client, request: ChatRequest, settings: GenerationSettings) -> str:
    """``ResponseCache.key`` as it was before requests had seeds."""
    digest = hashlib.sha256()
    for part in (client.model, client.revision or "", sha256_text(request.system), sha256_text(request.user),
                 settings.sha()):
        digest.update(part.encode() + b"\0")
    for image in request.images:
        digest.update(hashlib.sha256(image).digest())
    return digest.hexdigest()


def test_cache_key_includes_only_a_set_seed():
    client, settings = SimpleNamespace(model="m", revision="r1"), GenerationSettings(temperature=1.0)
    request = ChatRequest("a", "system", "user", (b"image",))
    assert ResponseCache.key(client, request, settings) == key_without_seeds(client, request, settings)
    keys = {ResponseCache.key(client, replace(request, seed=seed), settings) for seed in (None, 0, 1, 2)}
    assert len(keys) == 4


def test_openai_body_carries_the_request_seed():
    client, settings = OpenAIClient("http://127.0.0.1:1/v1", "m"), GenerationSettings(temperature=1.0, seed=5)
    request = ChatRequest("a", "", "user")
    assert json.loads(client._body(request, settings))["seed"] == 5
    assert json.loads(client._body(replace(request, seed=9), settings))["seed"] == 9
