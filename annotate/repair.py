"""Repair stage: the extraction model's raw answers become record fields, or a counted loss
(``skyscript repair IN OUT [--backend {none,transformers,openai} --model ... --endpoint ...]``).

Per request answer (``answer.txt``, shared by the images of one request, split by ``extraction.index``):

1. strict: ``json.loads`` of the answer (a surrounding code fence is allowed) -> ``direct``;
2. local: ``json_repair`` (prose around the JSON, single quotes, trailing commas, truncation) -> ``repaired_local``;
3. llm: the Table 6 prompt to a model (``backend`` transformers or openai), its answer parsed as above ->
   ``repaired_llm``;
4. otherwise ``lost``: the frame leaves the chain with a quarantine line holding the raw answer.

``lost`` means the answer itself could not be repaired, nothing else: when the Table 6 model cannot be reached
(a ``ModelCallError`` after the client's retries) the task fails, the answers so far stay cached, and the next
run retries it.

A parsed item goes through the official format's alias table leniently (``builder.official.convert_case``):
other spellings of keys are accepted; keys it does not know are dropped and values it cannot normalize are
nulled (making the outcome at best ``repaired_local``); a list where one object was expected is unwrapped. The result must carry a minimum
content, a scene description or at least one person or object; ``json_repair``'s ``''`` for prose and ``{}``
for garbage do not. Then the record is validated against the schema. Outcomes are counted per shard.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from annotate.chat_models import MODEL_BACKENDS, ChatModelStage, ModelSettings, make_client
from annotate.config import operational
from annotate.errors import ModelError
from annotate.prompt import repair_prompt
from annotate.runner import FrameStage, ShardStage, stage_main
from annotate.vlm import ChatRequest, ModelCallError, unfenced
from builder.official import OfficialFormatError, convert_case
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter
from builder.validation import schema_problems

OUTCOMES = ("direct", "repaired_local", "repaired_llm", "lost")
_UNKNOWN_KEY = re.compile(r"unknown key '([^']*)'|unknown key \"([^\"]*)\"")


@dataclass
class RepairConfig(ModelSettings):
    """Settings of the repair stage (``--backend openai --endpoint URL --model NAME`` for the LLM step)."""

    backend: str = "none"  # none, transformers or openai: the model for the Table 6 step
    max_new_tokens: int = 2048
    max_answer_chars: int = 1_000_000  # longer answers are not parsed: lost
    quarantine_answer_chars: int = 20_000  # how much of a lost answer the quarantine line keeps
    answers_in_flight: int = operational(256)  # frames read before their unparsable answers go to the LLM
    shard_max_count: int = operational(1000)


def parse_strict(text: str) -> Any | None:
    """The answer as JSON exactly (inside one code fence at most), else None."""
    try:
        return json.loads(unfenced(text))
    except (ValueError, RecursionError):
        return None


def parse_local(text: str) -> Any | None:
    """``json_repair``'s reading of the answer; None when it cannot give a JSON container with content."""
    import json_repair

    try:
        value = json_repair.loads(text)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None
    return value if isinstance(value, (dict, list)) and value else None


def item_of(parsed: Any, index: int, count: int) -> tuple[dict | None, bool]:
    """The object for image ``index`` of ``count``, and whether it had to be unwrapped from a list."""
    if isinstance(parsed, dict):
        return (parsed, False) if count == 1 else (None, False)
    if isinstance(parsed, list):
        if count == 1:
            objects = [p for p in parsed if isinstance(p, dict)]
            return (objects[0], True) if len(objects) == 1 else (None, False)
        if index < len(parsed) and isinstance(parsed[index], dict):
            return parsed[index], False
    return None, False


def fields_of(key: str, item: dict) -> tuple[dict | None, list[str]]:
    """Scene name, description, people and objects read leniently. A key the table does not know is dropped,
    a value it cannot normalize is set to null; the JSON paths of those changes are returned."""
    item, changed = json.loads(json.dumps(item)), []
    for _ in range(256):  # every round mends one key or value
        try:
            record = convert_case(key, item, lenient=True)
            break
        except OfficialFormatError as exc:
            if not _mend(item, exc.path, drop=bool(_UNKNOWN_KEY.search(str(exc)))):
                return None, changed
            changed.append(exc.path)
        except RecursionError:
            return None, changed
    else:
        return None, changed
    scene = record.get("scene") or {}
    return {"scene_name": scene.get("name"), "description": record.get("description"),
            "people": record.get("people") or [], "objects": record.get("objects") or []}, changed


_PATH_PART = re.compile(r'\.([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def _mend(item: Any, path: str | None, drop: bool) -> bool:
    """Delete (``drop``) or null the value at ``path`` (``$.people[0]["Shot Type"]``); False if impossible."""
    parts = [int(n) if n else (json.loads(f'"{q}"') if q else name) for name, n, q in _PATH_PART.findall(path or "")]
    if not parts:
        return False
    node = item
    for part in parts[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        if drop or node[last] is None:
            del node[last]
        else:
            node[last] = None
        return True
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        del node[last]  # an item that is not an object at all
        return True
    return False


def usable(fields: dict | None) -> bool:
    """The minimum content of an extraction: a scene description, a person or an object."""
    return bool(fields) and bool((fields["description"] or "").strip() or fields["people"] or fields["objects"])


class RepairStage(ChatModelStage, FrameStage, ShardStage[RepairConfig]):
    """Parse, repair (Table 6), normalize and validate the extraction answers; count every loss."""

    name = "repair"
    config_class = RepairConfig
    cli_options = {"--backend": "backend", "--model": "model", "--endpoint": "endpoint",
                   "--api-key-env": "api_key_env"}

    def version(self) -> str:
        if self.config.backend == "none":
            return self.code_version
        return f"{self.code_version}+prompt:{repair_prompt(self.config.prompt_version, '').sha}"

    def setup(self, device) -> None:
        c = self.config
        if c.backend == "none":
            self.client = None
        elif c.backend in MODEL_BACKENDS:
            self.client = make_client(c, str(device))
        else:
            raise ModelError(f"backend {c.backend!r}: use none, {' or '.join(MODEL_BACKENDS)}")

    def resolve(self, key: str, parsed: Any, index: int, count: int) -> tuple[dict | None, bool]:
        """Fields for one image from a parsed answer, and whether anything had to be changed to get them."""
        item, unwrapped = item_of(parsed, index, count)
        if item is None:
            return None, False
        fields, dropped = fields_of(key, item)
        return (fields, unwrapped or bool(dropped)) if usable(fields) else (None, False)

    def llm_answers(self, answers: list[str], writer: ShardWriter) -> dict[str, str]:
        """Table 6 answers for the raw answers that strict and local parsing could not use; a request that got
        no answer fails the task (retried on the next run, the answers so far cached)."""
        if self.client is None or not answers:
            return {}
        requests = []
        for i, answer in enumerate(answers):
            prompt = repair_prompt(self.config.prompt_version, answer[: self.config.max_answer_chars])
            requests.append(ChatRequest(f"repair-{i:05d}", prompt.system, prompt.user))
        replies = self.cached_client(Path(writer.folder)).complete(requests, self.config.generation())
        writer.count("llm_requests", len(requests))
        failed = [r for r in replies if isinstance(r, ModelCallError)]
        if failed:
            raise failed[0]
        return dict(zip(answers, replies))

    def cut(self, batch: list[Sample], following: Sample) -> bool:
        """Batches end between requests (an answer's images stay together) once ``answers_in_flight`` are read."""
        return len(batch) >= self.config.answers_in_flight and \
            (batch[-1].record.get("extraction") or {}).get("request_id") != \
            (following.record.get("extraction") or {}).get("request_id")

    def frames(self, batch: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> Iterator[Sample]:
        counts: dict[str, int] = Counter()
        for s in batch:  # images per request, from the indices seen
            if "answer.txt" in s.members:
                request = s.record["extraction"]["request_id"]
                counts[request] = max(counts[request], s.record["extraction"]["index"] + 1)
        results: dict[str, tuple[dict | None, str]] = {}
        pending: list[Sample] = []
        for s in batch:
            if "answer.txt" not in s.members:
                continue
            answer = s.members["answer.txt"].decode("utf-8", errors="replace")
            index, count = s.record["extraction"]["index"], counts[s.record["extraction"]["request_id"]]
            if len(answer) > self.config.max_answer_chars:
                results[s.key] = (None, "lost")
                writer.count("answers_too_long")
                continue
            strict = parse_strict(answer)
            fields, changed = self.resolve(s.key, strict, index, count) if strict is not None else (None, False)
            if fields is not None:
                results[s.key] = (fields, "repaired_local" if changed else "direct")
                continue
            fields, _ = self.resolve(s.key, parse_local(answer), index, count)
            if fields is not None:
                results[s.key] = (fields, "repaired_local")
                continue
            pending.append(s)
        replies = self.llm_answers(sorted({p.members["answer.txt"].decode("utf-8", "replace") for p in pending}),
                                   writer)
        for s in pending:
            reply = replies.get(s.members["answer.txt"].decode("utf-8", "replace"))
            fields = None
            if reply is not None:
                index, count = s.record["extraction"]["index"], counts[s.record["extraction"]["request_id"]]
                parsed = parse_strict(reply)
                fields, _ = self.resolve(s.key, parsed if parsed is not None else parse_local(reply), index, count)
            results[s.key] = (fields, "repaired_llm") if fields is not None else (None, "lost")
        for sample in batch:
            if sample.key not in results:
                yield sample  # frames described without a raw answer (the heuristic backend)
                continue
            fields, outcome = results[sample.key]
            record = self.merged(sample.record, fields, outcome) if fields else None
            problems = schema_problems(sample.key, record, "frame") if record else []
            if record is None or problems:
                writer.count("outcome_lost")
                answer = sample.members["answer.txt"].decode("utf-8", "replace")
                limit = self.config.quarantine_answer_chars
                detail = {"answer": answer[:limit], "answer_chars": len(answer),
                          "problem": str(problems[0]) if problems else "no usable JSON in the answer"}
                quarantine.add(sample.key, "lost", json.dumps(detail, ensure_ascii=False),
                               source=(sample.record.get("source") or {}).get("path"))
                continue
            writer.count(f"outcome_{outcome}")
            yield Sample(sample.key, record, sample.members)

    def merged(self, record: dict, fields: dict, outcome: str) -> dict:
        """The frame record with the extracted fields filled in and the outcome recorded."""
        record = dict(record)
        scene = dict(record.get("scene") or {"number": None, "name": None, "int_ext": None, "time_of_day": None})
        scene["name"] = fields["scene_name"] or scene.get("name")
        people = [dict(p, line=None) for p in fields["people"]]  # dialogue comes from subtitles, not this model
        record.update(scene=scene, description=fields["description"], people=people, objects=fields["objects"])
        record["extraction"] = {**record["extraction"], "outcome": outcome}
        llm = outcome == "repaired_llm"
        record["provenance"] = [*record.get("provenance", []), self.provenance(
            model=self.client.model if llm else "json_repair", revision=self.config.revision if llm else None,
            prompt_sha=repair_prompt(self.config.prompt_version, "").sha if llm else None)]
        return record


def main(argv: list[str] | None = None) -> int:
    return stage_main(RepairStage, argv)


if __name__ == "__main__":
    sys.exit(main())
