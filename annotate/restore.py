"""Restore stage (paper section 4): each shooting script "restored" into the plain script a writer starts from,
``n`` times, giving script -> shooting-script ``pair`` records (``skyscript restore IN OUT --backend
{template,transformers,openai} --n N``; IN: the highlight stage's OUT, or the script stage's).

One task per video; every input sample passes through unchanged and the pairs follow. Backends:

- ``template`` (the offline default): ``annotate.plain_script`` renders the scene heading, description,
  characters, action and dialogue in Table 7's Script Generation layout and takes every camera detail out;
  deterministic, so one restoration per script (``generator.backend`` says ``template``).
- ``transformers`` / ``openai``: the chat clients, settings, response cache, retries and failure rules of
  extraction and repair (``annotate.chat_models``). Restoration ``k`` of a script uses prompt variant
  ``k mod 12`` (``annotate/prompts/<version>/restore.variants.yaml``: length, detail, voice) and its own seed
  ``seed + k``, sampled at ``temperature``/``top_p``; requests go out in batches of ``requests_in_flight``. A
  request that gets no answer after the client's retries fails the task once every batch was tried: the answers
  so far stay cached and the next run asks only for the missing ones.

A restoration is dropped and counted by reason (``restorations_dropped_<reason>``) when it is empty, uses camera
vocabulary outside the dialogue (``annotate.camera_terms``), loses a line of dialogue, or is a near-duplicate of
an earlier restoration of the same script (``annotate.restorations``). A script left without any restoration is
quarantined (``no_restoration``) with the reasons.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.chat_models import MODEL_BACKENDS, ChatModelStage, ModelSettings, make_client
from annotate.config import ConfigError, operational
from annotate.errors import ModelError
from annotate.plain_script import dialogue_lines, render_plain
from annotate.prompt import restoration_prompt, restoration_variants
from annotate.restorations import NearDuplicates, problem
from annotate.runner import Task, VideoStage, stage_main
from annotate.vlm import ChatRequest, ModelCallError, sha256_text, unfenced
from builder.contract import SCHEMA_VERSION
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter

BACKENDS = ("template", *MODEL_BACKENDS)
TEMPLATE_MODEL = "annotate.plain_script"  # generator.model of a template restoration
MODEL_DEFAULT_N = 100  # the paper's restorations per shooting script


@dataclass
class RestoreConfig(ModelSettings):
    """Settings of the restore stage (``--backend openai --endpoint URL --model NAME --n 100`` for a model)."""

    backend: str = "template"  # template, transformers or openai
    n: int | None = None  # restorations per shooting script: default 1 (template) or 100 (a model)
    max_new_tokens: int = 1024
    temperature: float = 0.8  # model backends: restoration k is sampled with seed + k at this temperature
    top_p: float = 0.95
    dedup_threshold: float = 0.8  # estimated Jaccard similarity of word shingles from which one is a near-duplicate
    shingle_words: int = 3
    num_perm: int = 128  # MinHash permutations
    requests_in_flight: int = operational(512)  # requests per batch handed to the client (cached as they finish)
    shard_max_count: int = operational(1000)


@dataclass
class Candidate:
    """One restoration of a script before its checks."""

    index: int
    text: str
    generator: dict[str, Any]
    prompt_sha: str | None


def restorations_per_script(config: RestoreConfig) -> int:
    """``n``, or its default for the backend."""
    return config.n if config.n is not None else (1 if config.backend == "template" else MODEL_DEFAULT_N)


def answer_text(answer: str) -> str:
    """A model's answer without a surrounding code fence and blank margins."""
    return unfenced(answer).strip()


class RestoreStage(ChatModelStage, VideoStage[RestoreConfig]):
    """N plain scripts per shooting script; each one that passes its checks becomes a ``pair``."""

    name = "restore"
    config_class = RestoreConfig
    cli_options = {"--backend": "backend", "--model": "model", "--endpoint": "endpoint",
                   "--api-key-env": "api_key_env", "--n": "n"}

    def version(self) -> str:
        if self.config.backend == "template":
            return self.code_version
        variants = restoration_variants(self.config.prompt_version)
        shas = [restoration_prompt(self.config.prompt_version, v, "").sha for v in variants]
        return f"{self.code_version}+prompt:{sha256_text(' '.join(shas))[:16]}"

    def setup(self, device) -> None:
        c = self.config
        if c.backend not in BACKENDS:
            raise ConfigError(f"backend {c.backend!r}: use one of {', '.join(BACKENDS)}")
        n = restorations_per_script(c)
        if n < 1:
            raise ConfigError(f"n must be at least 1, got {n}")
        if c.backend == "template" and n != 1:
            raise ConfigError(f"the template backend is deterministic: it makes one restoration per script, not n={n}"
                              " (use a model backend for more)")
        if not 0 < c.dedup_threshold <= 1:
            raise ConfigError(f"dedup_threshold must lie in (0, 1], got {c.dedup_threshold}")
        if c.shingle_words < 1 or c.num_perm < 1 or c.requests_in_flight < 1:
            raise ConfigError("shingle_words, num_perm and requests_in_flight must be at least 1")
        if c.backend == "template":
            self.client = None
            return
        restoration_variants(c.prompt_version)  # a missing prompt fails before any work
        self.client = make_client(c, str(device))

    def run_video(self, task: Task, samples: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> None:
        for sample in samples:
            writer.write(sample)
        scripts = [s.record for s in samples if s.kind == "shooting_script"]
        restored = self.template(scripts, writer) if self.config.backend == "template" else \
            self.ask(scripts, writer)
        for script in scripts:
            self.write_pairs(script, restored[script["script_id"]], writer, quarantine, task.source)

    def template(self, scripts: list[dict], writer: ShardWriter) -> dict[str, list[Candidate]]:
        """One plain script per shooting script, rendered offline."""
        generator = {"backend": "template", "model": TEMPLATE_MODEL, "revision": self.code_version,
                     "temperature": None, "top_p": None, "seed": None, "variant": None, "prompt_sha": None}
        restored = {}
        for script in scripts:
            plain = render_plain(script)
            for key, value in plain.counts.items():
                writer.count(f"template_{key}", value)
            restored[script["script_id"]] = [Candidate(0, plain.text, generator, None)]
        return restored

    def ask(self, scripts: list[dict], writer: ShardWriter) -> dict[str, list[Candidate]]:
        """``n`` restorations per script from the model, each with its prompt variant and seed."""
        c = self.config
        variants = restoration_variants(c.prompt_version)
        asked: list[tuple[str, ChatRequest, Candidate]] = []
        for script in scripts:
            for k in range(restorations_per_script(c)):
                variant = variants[k % len(variants)]
                prompt = restoration_prompt(c.prompt_version, variant, script["text"])
                generator = {"backend": c.backend, "model": self.client.model, "revision": c.revision,
                             "temperature": c.temperature, "top_p": c.top_p, "seed": c.seed + k,
                             "variant": variant.id, "prompt_sha": prompt.sha}
                request = ChatRequest(f"{script['script_id']}-r{k}", prompt.system, prompt.user, seed=c.seed + k)
                asked.append((script["script_id"], request, Candidate(k, "", generator, prompt.sha)))
        client = self.cached_client(Path(writer.folder))
        failures: list[ModelCallError] = []
        restored: dict[str, list[Candidate]] = {s["script_id"]: [] for s in scripts}
        for start in range(0, len(asked), c.requests_in_flight):
            chunk = asked[start:start + c.requests_in_flight]
            answers = client.complete([request for _, request, _ in chunk], c.generation())
            for (script_id, _, candidate), answer in zip(chunk, answers):
                if isinstance(answer, ModelCallError):
                    failures.append(answer)
                    continue
                candidate.text = answer_text(answer)
                restored[script_id].append(candidate)
        writer.count("restoration_requests", len(asked))
        if failures:
            raise ModelError(f"{len(failures)} of {len(asked)} restoration request(s) got no answer (the others are "
                             f"cached; rerun to retry): {failures[0]}")
        return restored

    def write_pairs(self, script: dict, candidates: list[Candidate], writer: ShardWriter, quarantine: Quarantine,
                    source: str) -> None:
        """The candidates that pass their checks, as pair samples; the others counted by reason."""
        c = self.config
        lines = [line.strip() for line in dialogue_lines(script)]
        seen = NearDuplicates(c.dedup_threshold, c.shingle_words, c.num_perm)
        dropped: Counter = Counter()
        width = max(3, len(str(restorations_per_script(c) - 1)))
        for candidate in candidates:
            reason = problem(candidate.text, lines) or (None if seen.keep(candidate.text) else "near_duplicate")
            if reason:
                dropped[reason] += 1
                writer.count(f"restorations_dropped_{reason}")
                continue
            key = f"{script['script_id']}_r{candidate.index:0{width}d}"
            record = {"kind": "pair", "schema_version": SCHEMA_VERSION, "pair_id": key,
                      "script_id": script["script_id"], "video_id": script["video_id"],
                      "restoration_index": candidate.index, "script": candidate.text,
                      "shooting_script": script["text"], "generator": candidate.generator,
                      "provenance": [self.provenance(model=candidate.generator["model"],
                                                     revision=candidate.generator["revision"],
                                                     prompt_sha=candidate.prompt_sha)]}
            writer.write(Sample(key, record))
            writer.count("pairs")
        writer.count("scripts")
        if len(candidates) == sum(dropped.values()):
            writer.count("scripts_without_pairs")
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(dropped.items()))
            quarantine.add(script["script_id"], "no_restoration",
                           f"all {len(candidates)} restoration(s) dropped: {reasons}", source=source)


def main(argv: list[str] | None = None) -> int:
    return stage_main(RestoreStage, argv)


if __name__ == "__main__":
    sys.exit(main())
