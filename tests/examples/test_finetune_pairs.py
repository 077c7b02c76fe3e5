"""``examples/finetune_pairs.py``: a run killed mid-training and resumed with ``--resume`` gives the log, the data
and the losses of an uninterrupted run (tiny random Llama, 40 pairs in 4 shards, no shuffle buffer), with one
process and with two (``accelerate launch --multi_gpu`` on CPU)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import pair_record

from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "finetune_pairs.py"
PAIRS, STEPS, EVERY, BATCH = 40, 12, 4, 4
# one thread each: the same sums whatever else runs on the machine, and no spinning threads on a busy CI box
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def load_example():
    spec = importlib.util.spec_from_file_location("finetune_pairs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """40 pairs in 4 shards, and a tiny random Llama with a byte-level tokenizer and a chat template."""
    import torch
    from tiny_models import save_llama, tiny_tokenizer
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("finetune")
    with ShardWriter(root / "stage", "stage", Quarantine(root / "q.jsonl", "test"), max_count=10) as writer:
        for i in range(PAIRS):
            assert writer.write(Sample(f"pair{i:03d}", pair_record(i)))
    publish(root / "stage", root / "skyscript-100m", max_count=10, progress=False, shards_multiple_of=4)
    tiny_tokenizer().save_pretrained(root / "tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer")
    torch.manual_seed(0)
    save_llama(root / "llama", tokenizer)
    return {"dataset": root / "skyscript-100m", "model": root / "llama", "tokenizer": root / "tokenizer"}


def command(inputs, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(SCRIPT), "--dataset", str(inputs["dataset"]), "--model", str(inputs["model"]),
            "--output-dir", str(out), "--steps", str(STEPS), "--batch-size", str(BATCH), "--lr", "1e-3",
            "--max-length", "256", "--checkpoint-every", str(EVERY), "--shuffle-buffer", "0", "--seed", "3", *extra]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def checkpoints(out: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*") if (p / "trainer_state.json").is_file())


def test_the_prompt_is_masked_and_the_answer_ends_with_eos(inputs):
    from transformers import AutoTokenizer

    example = load_example()
    tokenizer = AutoTokenizer.from_pretrained(inputs["tokenizer"])
    pair = pair_record(4)
    encoded = example.encode(tokenizer, pair, 10_000)
    ids, labels = encoded["input_ids"], encoded["labels"]
    masked = labels.count(-100)
    assert len(ids) == len(labels) and labels[:masked] == [-100] * masked and -100 not in labels[masked:]
    assert labels[masked:] == ids[masked:]
    prompt = tokenizer.decode(ids[:masked])
    assert prompt.startswith("<s>system: Write the shooting script") and prompt.endswith("assistant:")
    assert pair["script"] in prompt and pair["shooting_script"] not in prompt
    assert tokenizer.decode(ids[masked:]) == f" {pair['shooting_script']}\n</s>"  # the answer only, then EOS
    cut = example.encode(tokenizer, pair, masked + 5)
    assert len(cut["input_ids"]) == masked + 5 and cut["labels"][:masked] == labels[:masked]
    assert example.encode(tokenizer, pair, masked) is None  # no answer token left: skipped
    batch = example.collate([cut, encoded], tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, len(ids)) and batch["attention_mask"][0].sum() == masked + 5
    assert (batch["labels"][0, masked + 5:] == -100).all()


@pytest.mark.slow
def test_killed_and_resumed_run_matches_an_uninterrupted_one(inputs, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    reference = subprocess.Popen(command(inputs, tmp_path / "reference", "--log-keys", str(tmp_path / "ref.jsonl")),
                                 env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = tmp_path / "run"
    # killed: its own process group, SIGKILL once 6 steps are logged (a pause after each step leaves time to)
    killed = subprocess.Popen(command(inputs, out, "--log-keys", str(tmp_path / "before.jsonl"), "--sleep-per-step",
                                      "0.4"), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        while not ((out / "loss.jsonl").exists() and len((out / "loss.jsonl").read_text().splitlines()) >= 6):
            assert killed.poll() is None, killed.communicate()[0][-3000:]
            assert time.monotonic() - started < 240, "the run did not log 6 steps in time"
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        killed.kill()
        killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    before = (out / "loss.jsonl").read_text().splitlines()
    assert 6 <= len(before) < STEPS
    resumed_from = max(checkpoints(out))
    assert resumed_from >= EVERY and resumed_from <= len(before)
    (out / ".tmp-checkpoint-99").mkdir()  # as a crash in the middle of a checkpoint leaves it
    (out / ".tmp-checkpoint-99" / "optimizer.bin").write_bytes(b"half")

    resumed = subprocess.run(command(inputs, out, "--resume", "--log-keys", str(tmp_path / "after.jsonl")),
                             env=ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {out / f'checkpoint-{resumed_from}'} (step {resumed_from}," in resumed.stdout
    assert reference.wait(timeout=300) == 0, reference.stdout.read()[-3000:]
    reference.stdout.close()

    log, expected = jsonl(out / "loss.jsonl"), jsonl(tmp_path / "reference" / "loss.jsonl")
    assert [entry["step"] for entry in log] == list(range(1, STEPS + 1))  # each step once, in order
    # the steps up to the checkpoint kept as written before the kill, the later ones redone after it
    assert (out / "loss.jsonl").read_text().splitlines()[:resumed_from] == before[:resumed_from]
    after = jsonl(tmp_path / "after.jsonl")
    assert [entry["step"] for entry in after] == list(range(resumed_from + 1, STEPS + 1))
    # the data position: the examples an uninterrupted run reads, before the kill and after the resume
    reference_keys = {entry["step"]: entry["keys"] for entry in jsonl(tmp_path / "ref.jsonl")}
    assert {entry["step"]: entry["keys"] for entry in after} == {
        step: keys for step, keys in reference_keys.items() if step > resumed_from}
    for entry in jsonl(tmp_path / "before.jsonl"):
        assert entry["keys"] == reference_keys[entry["step"]]
    assert sorted(sum((reference_keys[s] for s in range(1, 11)), [])) == [f"pair{i:03d}" for i in range(PAIRS)]
    assert reference_keys[11] == ["pair000", "pair001", "pair002", "pair003"]  # epoch 1 starts again
    # weights, optimizer and RNG restored: the same losses (same order of sums: one thread)
    for got, want in zip(log, expected):
        assert got == {**want, "loss": pytest.approx(want["loss"], rel=1e-6, abs=1e-7)}, (got, want)
    assert [entry["epoch"] for entry in log] == [0] * 10 + [1] * 2
    assert log[-1]["examples_seen"] == STEPS * BATCH and log[-1]["loss"] < log[0]["loss"]

    assert checkpoints(out) == [8, 12] and not list(out.glob(".tmp-*"))  # the last 2 kept, leftovers removed
    position = json.loads((out / "checkpoint-12" / "data-rank0.json").read_text())
    assert position["epoch"] == 1 and position["stream"]["epoch"] == 1
    model = AutoModelForCausalLM.from_pretrained(out / "final")
    want = AutoModelForCausalLM.from_pretrained(tmp_path / "reference" / "final").state_dict()
    for name, tensor in model.state_dict().items():
        assert (tensor - want[name]).abs().max() <= 1e-6, name
    assert AutoTokenizer.from_pretrained(out / "final").chat_template


@pytest.mark.slow
def test_refusals_name_the_option(inputs, tmp_path):
    missing = subprocess.run(command(inputs, tmp_path / "a", "--model", str(tmp_path / "no-such-model")), env=ENV,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "error: --model" in missing.stderr and "no-such-model" in missing.stderr
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "loss.jsonl").write_text("")
    again = subprocess.run(command(inputs, tmp_path / "b"), env=ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "already has a run: add --resume" in again.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
