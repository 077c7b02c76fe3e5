"""A local chat model run with ``transformers``: a vision-language model or a text-only LLM.

``model`` is a hub id (already in the Hugging Face cache when offline) or a local folder. A model whose config
is an image-text-to-text architecture is loaded with ``AutoModelForImageTextToText`` and its ``AutoProcessor``;
any other with ``AutoModelForCausalLM`` and its ``AutoTokenizer`` (text-only requests, e.g. JSON repair).
Requests are answered in batches of ``batch_size``, left padded, greedy when ``temperature == 0``; sampling:
each request's own seed, independent of batching (:class:`SeededSampling`).
"""

from __future__ import annotations

import inspect
import io
import os
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from annotate.errors import ModelError
from annotate.vlm import ChatRequest, GenerationSettings, seed_of

DTYPES = ("float16", "bfloat16", "float32")


def resolve_device(device: str) -> str:
    """``auto`` is ``cuda`` when a GPU is visible, else ``cpu``; any other name is kept."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """``auto`` is bfloat16 on a GPU and float32 on a CPU; else one of :data:`DTYPES`."""
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise ModelError(f"dtype: {dtype!r} is not one of auto, {', '.join(DTYPES)}")
    return getattr(torch, dtype)


def is_image_text_to_text(config: Any) -> bool:
    """Whether ``AutoModelForImageTextToText`` knows the config's architecture."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    return config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES


def load_config(model: str, revision: str | None) -> Any:
    """The model's config, or a ModelError naming the ``model`` setting and where it was looked for."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError) as error:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
        where = "a local folder of that name, then the Hugging Face cache" + (
            " (HF_HUB_OFFLINE is set: no download)" if offline else " and the hub")
        raise ModelError(
            f"model: cannot load {model!r} (revision {revision or 'default'}); tried {where}. Set `model` to a "
            f"local model folder or a hub id available offline. ({type(error).__name__}: {error})") from error


def open_image(data: bytes) -> Any:
    """An RGB PIL image from encoded JPEG/PNG bytes."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def vision_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """System turn, then a user turn with the request's images (in order) before its text."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in request.images]
    content.append({"type": "text", "text": request.user})
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": [{"type": "text", "text": request.system}]})
    messages.append({"role": "user", "content": content})
    return messages


def text_messages(request: ChatRequest) -> list[dict[str, str]]:
    """System and user turns with plain string contents (what text-only chat templates expect)."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    return messages + [{"role": "user", "content": request.user}]


class SeededSampling(LogitsProcessor):
    """Sampling with one seeded generator per row, by the Gumbel-max trick: the argmax of the returned scores
    (``generate`` run greedily) is an exact draw from the row's softmax at ``temperature`` cut to its ``top_p``
    nucleus, so a row's tokens depend only on its prompt and its seed, never on the rest of its batch."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        scores = scores / self.temperature
        if self.top_p < 1.0:  # keep the fewest top tokens whose mass reaches top_p, at least the top one
            ordered, order = scores.sort(dim=-1, descending=True)
            probs = ordered.softmax(dim=-1)
            outside = probs.cumsum(dim=-1) - probs >= self.top_p
            outside[:, 0] = False
            scores = scores.masked_fill(outside.scatter(-1, order, outside), float("-inf"))
        uniform = torch.stack([torch.rand(scores.shape[-1], generator=g, dtype=torch.float64)
                               for g in self.generators])
        limits = torch.finfo(uniform.dtype)
        gumbel = -(-uniform.clamp(limits.tiny, 1 - limits.eps).log()).log()
        return scores.log_softmax(dim=-1) + gumbel.to(scores.device, scores.dtype)


def generation_kwargs(settings: GenerationSettings, seeds: list[int]) -> dict[str, Any]:
    """``generate`` arguments: greedy decoding, which at a temperature above 0 takes the argmax of
    :class:`SeededSampling`'s scores, a draw with each row's seed in ``seeds``."""
    kwargs: dict[str, Any] = {"max_new_tokens": settings.max_new_tokens, "do_sample": False, "temperature": None,
                              "top_p": None, "top_k": None}
    if settings.temperature != 0:
        kwargs["logits_processor"] = LogitsProcessorList(
            [SeededSampling(seeds, settings.temperature, settings.top_p)])
    return kwargs


class TransformersClient:
    """A :class:`annotate.vlm.ChatClient` running a local ``transformers`` model."""

    def __init__(self, model: str, revision: str | None = None, device: str = "auto", dtype: str = "auto",
                 batch_size: int = 4) -> None:
        if batch_size < 1:
            raise ModelError(f"batch_size: must be at least 1, got {batch_size}")
        self.model, self.revision, self.batch_size = model, revision, batch_size
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        config = load_config(model, revision)
        self.is_vision = is_image_text_to_text(config)
        self._processor = self._load_processor()  # before the weights: a missing processor fails fast
        self._network = self._load_model(config)
        self._tokenizer = getattr(self._processor, "tokenizer", self._processor)
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._forward_args = set(inspect.signature(self._network.forward).parameters)

    def _load_model(self, config: Any) -> Any:
        """The network, on ``device`` in ``dtype``, in eval mode."""
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

        auto = AutoModelForImageTextToText if self.is_vision else AutoModelForCausalLM
        try:
            network = auto.from_pretrained(self.model, revision=self.revision, config=config, dtype=self.dtype)
        except (OSError, ValueError) as error:
            raise ModelError(f"model: cannot load the weights of {self.model!r} with {auto.__name__} "
                             f"({type(error).__name__}: {error})") from error
        return network.to(self.device).eval()

    def _load_processor(self) -> Any:
        """``AutoProcessor`` for a vision-language model, ``AutoTokenizer`` for a text-only one."""
        from transformers import AutoProcessor, AutoTokenizer

        auto = AutoProcessor if self.is_vision else AutoTokenizer
        try:
            return auto.from_pretrained(self.model, revision=self.revision)
        except (OSError, ValueError) as error:
            raise ModelError(f"model: cannot load the {auto.__name__} of {self.model!r} "
                             f"({type(error).__name__}: {error})") from error

    def complete(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[str]:
        """One answer per request, in order; each request samples with its own seed, else ``settings.seed``."""
        answers: list[str] = []
        for start in range(0, len(requests), self.batch_size):
            answers += self._complete_batch(requests[start:start + self.batch_size], settings)
        return answers

    def _complete_batch(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[str]:
        """Generates for one batch and decodes only the new tokens."""
        inputs = self._inputs(requests)
        seeds = [seed_of(r, settings) for r in requests]
        with torch.inference_mode():
            output = self._network.generate(**inputs, **generation_kwargs(settings, seeds),
                                            pad_token_id=self._tokenizer.pad_token_id)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    def _inputs(self, requests: list[ChatRequest]) -> Any:
        """Model inputs of a batch: prompts rendered by the chat template, left padded, with their images."""
        if self.is_vision:
            prompts = [self._processor.apply_chat_template(vision_messages(r), add_generation_prompt=True,
                                                           tokenize=False) for r in requests]
            images = [[open_image(data) for data in r.images] for r in requests]  # one list per prompt
            inputs = self._processor(text=prompts, images=images if any(images) else None, padding=True,
                                     return_tensors="pt", add_special_tokens=self._adds_bos(prompts))
        else:
            if any(r.images for r in requests):
                raise ModelError(f"model: {self.model!r} is a text-only model but a request has images; "
                                 "set `model` to a vision-language model")
            prompts = [self._tokenizer.apply_chat_template(text_messages(r), add_generation_prompt=True,
                                                           tokenize=False) for r in requests]
            inputs = self._tokenizer(prompts, padding=True, return_tensors="pt",
                                     add_special_tokens=self._adds_bos(prompts))
        if "token_type_ids" in inputs and "token_type_ids" not in self._forward_args:
            del inputs["token_type_ids"]
        inputs = inputs.to(self.device)
        for name, value in inputs.items():  # pixel values in the model's dtype
            if value.is_floating_point():
                inputs[name] = value.to(self.dtype)
        return inputs

    def _adds_bos(self, prompts: list[str]) -> bool:
        """Whether the tokenizer should add its special tokens: not when the template already wrote the BOS."""
        bos = self._tokenizer.bos_token
        return not (bos and all(p.startswith(bos) for p in prompts))
