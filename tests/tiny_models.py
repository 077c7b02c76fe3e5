"""Tiny random chat models built from configs and saved to a folder (nothing downloaded): a Llava with its
processor and a Llama with its tokenizer, for the tests of the transformers backends."""

from __future__ import annotations

import string
from pathlib import Path

IMAGE_TOKEN = "<image>"
SENTENCES = [
    "Describe the drone shot of the city in one sentence.",
    "A river flows under an old stone bridge at sunset.",
    "The camera flies over green fields and a small village.",
    "Answer in JSON with the keys caption, tags and camera_motion.",
]
#: renders image entries as the image token, text entries as their text, string contents as they are (a literal
#: newline after a block tag would be eaten: transformers renders templates with trim_blocks)
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ bos_token if loop.first else '' }}{{ m['role'] }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}" + IMAGE_TOKEN + "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def tiny_tokenizer():
    """A byte-level BPE trained in memory on a few sentences and the printable ASCII characters (its whole
    alphabet: any answer decodes to ASCII), with special tokens and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<s>", "</s>", IMAGE_TOKEN]
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=specials, show_progress=False)
    bpe.train_from_iterator(SENTENCES * 4 + [string.printable], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   chat_template=CHAT_TEMPLATE, model_input_names=["input_ids", "attention_mask"])


def llama_config(tokenizer):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)


def save_llava(folder: Path, tokenizer) -> None:
    """Tiny CLIP tower (16 px, 8 px patches: 4 patches + CLS, CLS dropped = 4 image tokens) and tiny Llama."""
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor)

    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=CHAT_TEMPLATE, image_token=IMAGE_TOKEN)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=16, patch_size=8)
    config = LlavaConfig(vision_config=vision, text_config=llama_config(tokenizer),
                         image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                         vision_feature_select_strategy="default", vision_feature_layer=-1)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)


def save_llama(folder: Path, tokenizer) -> None:
    from transformers import LlamaForCausalLM

    LlamaForCausalLM(llama_config(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def save_tiny_models(root: Path) -> dict[str, Path]:
    """Folders of a tiny random Llava (with its processor) and a tiny random Llama (with its tokenizer)."""
    import torch
    from transformers import AutoTokenizer

    tiny_tokenizer().save_pretrained(root / "tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer")
    torch.manual_seed(0)
    save_llava(root / "llava", tokenizer)
    save_llama(root / "llama", tokenizer)
    return {"llava": root / "llava", "llama": root / "llama"}


def save_tiny_audio_models(root: Path) -> dict[str, Path]:
    """A tiny random wav2vec2 CTC speech recogniser (its processor: a character vocabulary) and a tiny random
    wav2vec2 audio classifier with music genre labels, built from configs."""
    import json

    import torch
    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC,
                              Wav2Vec2ForSequenceClassification, Wav2Vec2Processor)

    torch.manual_seed(0)
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate(string.ascii_lowercase + "'")}}
    (root / "asr").mkdir(parents=True, exist_ok=True)
    (root / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(str(root / "vocab.json"), pad_token="<pad>", unk_token="<unk>",
                                     word_delimiter_token="|")
    features = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                        do_normalize=True, return_attention_mask=True)
    small = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                 conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2)
    Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=len(vocab), pad_token_id=0, **small)).save_pretrained(root / "asr")
    Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(root / "asr")
    labels = ["pop", "rock", "classical", "electronic"]
    config = Wav2Vec2Config(num_labels=len(labels), id2label=dict(enumerate(labels)),
                            label2id={label: i for i, label in enumerate(labels)}, **small)
    Wav2Vec2ForSequenceClassification(config).save_pretrained(root / "genre")
    features.save_pretrained(root / "genre")
    return {"asr": root / "asr", "genre": root / "genre"}
