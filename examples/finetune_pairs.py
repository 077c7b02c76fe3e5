"""Supervised fine-tuning of a causal language model on the ``pairs`` config of SkyScript-100M (plain script ->
shooting script), streamed with :func:`builder.streaming.training_stream`, resumable after a crash.

Each pair becomes a chat (system: an instruction to write the shooting script; user: ``json.script``; assistant:
``json.shooting_script``) rendered with the tokenizer's chat template; only the assistant's tokens count in the
loss. Sequences longer than ``--max-length`` lose their end; a pair whose prompt alone fills ``--max-length`` is
skipped (counted in the final line). Model, optimizer and precision come from ``accelerate``; ``--lr`` is constant.

Run it on the published dataset (a dataset folder made by ``skyscript run``/``skyscript publish``, or a Hub
dataset repo id)::

    accelerate launch examples/finetune_pairs.py --dataset skyscript-100m \\
        --model Qwen/Qwen2.5-0.5B-Instruct --output-dir out/sft --steps 2000 --batch-size 8
    accelerate launch --multi_gpu --num_processes 4 [--mixed_precision bf16] examples/finetune_pairs.py ...
    accelerate launch ... examples/finetune_pairs.py ... --resume      # the same command, after a crash

``--model`` is a local folder or a Hub id (it needs a chat template); the batch size is per process. The output
folder gets:

- ``loss.jsonl``: one line per step, ``{"step", "loss", "epoch", "examples_seen"}`` (the loss averaged over the
  processes; ``examples_seen`` over all of them), flushed every step;
- ``checkpoint-STEP/`` every ``--checkpoint-every`` steps, the last ``--keep-checkpoints`` (2) kept:
  ``accelerator.save_state`` (model, optimizer, RNG of every process), ``data-rank{R}.json`` (rank R's epoch and
  its stream's ``state_dict()``) and ``trainer_state.json`` (step, epoch, examples seen, number of processes).
  A checkpoint is written into ``.tmp-checkpoint-STEP/``, synced to disk and then renamed: a folder named
  ``checkpoint-STEP`` holding ``trainer_state.json`` is complete, and a crash mid-checkpoint leaves only a
  ``.tmp-`` folder (removed by the next run);
- ``final/``: the model and tokenizer (``from_pretrained`` loads it).

**Resume.** ``--resume`` loads the newest complete checkpoint (``accelerator.load_state``: weights, optimizer
moments and every process's RNG), sets each rank's stream to its saved epoch and position
(``set_epoch`` + ``load_state_dict``), cuts ``loss.jsonl`` after the checkpoint's step, and goes on from the next
step, so the log has every step once. With no checkpoint yet it starts at step 1. Resume with the same number of
processes, ``--batch-size``, ``--shuffle-buffer``, ``--seed`` and ``--dataset`` (the data position is per rank).
Without ``--resume`` the script refuses an output folder that already has a log or checkpoints.

**What the data position guarantees** is what ``training_stream`` guarantees (see the docstring of
``builder/streaming.py``): ranks read disjoint examples that together are the config once per epoch; with
``--shuffle-buffer 0`` a resumed run reads exactly the examples an uninterrupted run would have read (and, with
the RNG and optimizer restored, computes the same losses); with a shuffle buffer no example is repeated within
the epoch but the examples in the buffer at the checkpoint (at most ``--shuffle-buffer`` per rank) are skipped
for that epoch. The stream is read in the training process itself (no DataLoader workers), so its
``state_dict()`` is exactly the position after the last example trained on. When a rank's share runs out it moves
to the next epoch (``set_epoch``: a new shard and buffer order when shuffling).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

try:
    from builder.streaming import training_stream
except ImportError:  # run from a checkout where the package is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from builder.streaming import training_stream

#: the README's instruction (## The restore stage)
SYSTEM_PROMPT = "Write the shooting script of this scene, in the layout of Table 1."
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TMP_PREFIX = ".tmp-"
STATE_FILE = "trainer_state.json"
LOSS_FILE = "loss.jsonl"
IGNORE = -100


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="finetune_pairs.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dataset", default="skyscript-100m", help="dataset folder or Hub dataset repo id")
    parser.add_argument("--model", required=True, help="causal LM with a chat template: a local folder or Hub id")
    parser.add_argument("--output-dir", required=True, type=Path, help="loss log, checkpoints, final model")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps in all")
    parser.add_argument("--batch-size", type=int, default=8, help="pairs per step and process")
    parser.add_argument("--lr", type=float, default=2e-5, help="AdamW learning rate (constant)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    parser.add_argument("--max-grad-norm", type=float, default=1.0, help="0: no clipping")
    parser.add_argument("--max-length", type=int, default=2048, help="tokens per sequence")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps")
    parser.add_argument("--keep-checkpoints", type=int, default=2, help="the newest complete ones kept")
    parser.add_argument("--shuffle-buffer", type=int, default=1000, help="0: shard order (exact resume)")
    parser.add_argument("--seed", type=int, default=0, help="of the shuffle and the RNGs")
    parser.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    # for tests: each rank's __key__s per step as JSON lines, and a pause after each step
    parser.add_argument("--log-keys", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sleep-per-step", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "max_length", "checkpoint_every", "keep_checkpoints"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.shuffle_buffer < 0:
        parser.error("--shuffle-buffer must be 0 or more")
    return args


def fail(message: str) -> None:
    raise SystemExit(f"finetune_pairs.py: error: {message}")


# ---- data ------------------------------------------------------------------------------------------------------

def to_messages(pair: dict) -> list[dict]:
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": pair["script"]},
            {"role": "assistant", "content": pair["shooting_script"]}]


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]  # the template writes its own special tokens


def encode(tokenizer, pair: dict, max_length: int) -> dict | None:
    """``input_ids`` and ``labels`` (the prompt's positions masked) of one pair, cut to ``max_length``; None when
    no assistant token is left."""
    messages = to_messages(pair)
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if full.startswith(prompt):  # the usual case: the prompt and the answer tokenized apart, joined
        prompt_ids, answer = _ids(tokenizer, prompt), full[len(prompt):]
        if tokenizer.eos_token and tokenizer.eos_token not in answer:
            answer += tokenizer.eos_token  # the model learns to stop (templates that end a turn with EOS have it)
        ids = prompt_ids + _ids(tokenizer, answer)
        masked = len(prompt_ids)
    else:  # a template that renders the history differently once answered: mask the common prefix
        prompt_ids, ids = _ids(tokenizer, prompt), _ids(tokenizer, full)
        masked = next((i for i, (a, b) in enumerate(zip(prompt_ids, ids)) if a != b), min(len(prompt_ids), len(ids)))
    ids = ids[:max_length]
    if masked >= len(ids):
        return None
    return {"input_ids": ids, "labels": [IGNORE] * masked + ids[masked:]}


def collate(examples: list[dict], pad_id: int):
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example["input_ids"])
        input_ids[row, :n] = torch.tensor(example["input_ids"])
        labels[row, :n] = torch.tensor(example["labels"])
        attention_mask[row, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class Pairs:
    """This rank's stream of encoded pairs, epoch after epoch; ``state()``/``restore()`` are its position."""

    def __init__(self, stream, tokenizer, max_length: int, rank: int):
        self.stream, self.tokenizer, self.max_length, self.rank = stream, tokenizer, max_length, rank
        self.epoch, self.skipped = 0, 0
        self._rows, self._read = None, 0  # this epoch's iterator and how many rows it gave

    def take(self, n: int) -> list[tuple[str, dict]]:
        """The next ``n`` (key, encoded pair), moving to the next epoch when the stream runs out."""
        taken, empty_epochs = [], 0
        while len(taken) < n:
            if self._rows is None:
                self.stream.set_epoch(self.epoch)
                self._rows, self._read = iter(self.stream), 0
            try:
                row = next(self._rows)
            except StopIteration:
                empty_epochs = 0 if self._read else empty_epochs + 1
                if empty_epochs > 1:  # (one is normal: a resume at the very end of an epoch)
                    fail(f"rank {self.rank} has no pairs to read (an empty config, or more processes than pairs)")
                self.epoch, self._rows = self.epoch + 1, None
                continue
            self._read += 1
            encoded = encode(self.tokenizer, row["json"], self.max_length)
            if encoded is None:
                self.skipped += 1
                continue
            taken.append((row["__key__"], encoded))
        return taken

    def state(self) -> dict:
        return {"epoch": self.epoch, "stream": self.stream.state_dict()}

    def restore(self, state: dict) -> None:
        self.epoch, self._rows = state["epoch"], None
        self.stream.load_state_dict(state["stream"])


# ---- checkpoints -----------------------------------------------------------------------------------------------

def complete_checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of the complete checkpoints, oldest first."""
    found = []
    if output_dir.is_dir():
        for folder in output_dir.iterdir():
            match = CHECKPOINT.match(folder.name)
            if match and (folder / STATE_FILE).is_file():
                found.append((int(match.group(1)), folder))
    return sorted(found)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, value: dict) -> None:
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(accelerator, output_dir: Path, step: int, pairs: Pairs, examples_seen: int, keep: int) -> Path:
    tmp, final = output_dir / f"{TMP_PREFIX}checkpoint-{step}", output_dir / f"checkpoint-{step}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))  # model, optimizer, every process's RNG
    _write_json(tmp / f"data-rank{accelerator.process_index}.json",
                {"rank": accelerator.process_index, "world_size": accelerator.num_processes, **pairs.state()})
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        _write_json(tmp / STATE_FILE, {"step": step, "epoch": pairs.epoch, "examples_seen": examples_seen,
                                       "world_size": accelerator.num_processes})
        _fsync_tree(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)  # atomic: the folder appears complete or not at all
        fd = os.open(output_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        for _, old in complete_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def cut_log(path: Path, last_step: int) -> None:
    """Keep the lines of ``path`` up to ``last_step`` (a torn last line goes too), atomically."""
    kept = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry["step"] <= last_step:
                kept.append(line + "\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept))
    os.replace(tmp, path)


# ---- model -----------------------------------------------------------------------------------------------------

def load_model(name: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as error:
        fail(f"--model {name!r} cannot be loaded as a causal language model with its tokenizer "
             f"(a local folder or a Hub id; offline, it must be in the cache): {error}")
    if not tokenizer.chat_template:
        fail(f"--model {name!r}: its tokenizer has no chat template (use a chat/instruct model)")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


# ---- training --------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = args.output_dir
    log_path = out / LOSS_FILE
    if not args.resume and (log_path.exists() or complete_checkpoints(out)):  # (every rank, before any writes)
        fail(f"--output-dir {out} already has a run: add --resume to continue it, or choose another folder")

    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    # cpu=True on a machine without CUDA: a plain Accelerator() there ignores `accelerate launch --multi_gpu`
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    main_process, rank, world = accelerator.is_main_process, accelerator.process_index, accelerator.num_processes
    accelerator.wait_for_everyone()  # every rank has checked the folder before the main process writes
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        for leftover in out.glob(f"{TMP_PREFIX}*"):  # a checkpoint or final model a crash left half-written
            shutil.rmtree(leftover, ignore_errors=True)
    accelerator.wait_for_everyone()

    set_seed(args.seed)
    model, tokenizer = load_model(args.model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    model, optimizer = accelerator.prepare(model, optimizer)
    stream = training_stream("pairs", args.dataset, state=accelerator.state, shuffle_buffer=args.shuffle_buffer,
                             seed=args.seed)
    pairs = Pairs(stream, tokenizer, args.max_length, rank)

    start = 0
    if args.resume:
        checkpoints = complete_checkpoints(out)
        if checkpoints:
            start, folder = checkpoints[-1]
            saved = json.loads((folder / STATE_FILE).read_text())
            if saved["world_size"] != world:
                fail(f"{folder} was written by {saved['world_size']} process(es), this run has {world}: resume "
                     "with the same number of processes (the data position is per rank)")
            accelerator.load_state(str(folder))  # after prepare: weights, optimizer, RNG
            pairs.restore(json.loads((folder / f"data-rank{rank}.json").read_text()))
            accelerator.print(f"resumed from {folder} (step {start}, epoch {saved['epoch']})", flush=True)
        else:
            accelerator.print(f"no complete checkpoint in {out}: starting at step 1", flush=True)
        if main_process:
            cut_log(log_path, start)
        accelerator.wait_for_everyone()

    log = open(log_path, "a") if main_process else None
    keys_log = open(args.log_keys, "a") if args.log_keys else None
    model.train()
    for step in range(start + 1, args.steps + 1):
        taken = pairs.take(args.batch_size)
        batch = {name: value.to(accelerator.device)
                 for name, value in collate([e for _, e in taken], tokenizer.pad_token_id).items()}
        loss = model(**batch).loss
        accelerator.backward(loss)
        if args.max_grad_norm > 0:
            accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        mean_loss = accelerator.reduce(loss.detach(), "mean").item()
        examples_seen = step * args.batch_size * world
        if keys_log:
            keys_log.write(json.dumps({"step": step, "rank": rank, "keys": [k for k, _ in taken]}) + "\n")
            keys_log.flush()
        if log:
            log.write(json.dumps({"step": step, "loss": mean_loss, "epoch": pairs.epoch,
                                  "examples_seen": examples_seen}) + "\n")
            log.flush()
        if args.sleep_per_step:
            time.sleep(args.sleep_per_step)
        if step % args.checkpoint_every == 0:
            save_checkpoint(accelerator, out, step, pairs, examples_seen, args.keep_checkpoints)

    accelerator.wait_for_everyone()
    state_dict = accelerator.get_state_dict(model)  # on every rank (sharded models gather here)
    if main_process:
        tmp, final = out / f"{TMP_PREFIX}final", out / "final"
        shutil.rmtree(tmp, ignore_errors=True)
        accelerator.unwrap_model(model).save_pretrained(tmp, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        log.close()
    if keys_log:
        keys_log.close()
    accelerator.wait_for_everyone()
    accelerator.print(f"done: {args.steps} steps, model and tokenizer in {out / 'final'}; pairs skipped "
                      f"(prompt alone over --max-length) on this rank: {pairs.skipped}", flush=True)
    accelerator.end_training()


if __name__ == "__main__":
    main()
