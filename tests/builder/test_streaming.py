"""``builder.streaming.training_stream``: ranks and DataLoader workers read disjoint examples that together are the
config once per epoch; ``state_dict`` resumes exactly (no shuffle) or without repeats (shuffle); balanced shards."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from factories import frame_sample, pair_record

from builder.publish import balanced_sizes, publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths
from builder.streaming import rank_and_world, training_stream

PAIRS = 43


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """43 pairs in 8 balanced shards (2 ranks x 2 workers, at most 7 each) and 3 frames."""
    root = tmp_path_factory.mktemp("stream")
    with ShardWriter(root / "stage", "stage", Quarantine(root / "q.jsonl", "test"), max_count=10) as writer:
        for i in range(PAIRS):
            assert writer.write(Sample(f"pair{i:03d}", pair_record(i)))
        for i in range(3):
            assert writer.write(frame_sample(i))
    publish(root / "stage", root / "skyscript-100m", max_count=7, progress=False, shards_multiple_of=4)
    return root / "skyscript-100m"


def keys(stream) -> list[str]:
    return [row["__key__"] for row in stream]


def test_publish_balances_shards_to_a_multiple(dataset):
    sizes = [sum(1 for _ in iter_shard(shard)) for shard in shard_paths(dataset / "pairs")]
    assert sizes == [6, 6, 6, 5, 5, 5, 5, 5]  # 8 shards (a multiple of 4), at most 7, balanced
    assert [sum(1 for _ in iter_shard(s)) for s in shard_paths(dataset / "frames")] == [1, 1, 1]  # 3 < 4: one each
    assert "| `pairs` | 43 | 8 |" in (dataset / "README.md").read_text()  # the card lists the shard count


@pytest.mark.parametrize("total, per_shard, multiple, expected", [
    (43, 7, 4, [6, 6, 6, 5, 5, 5, 5, 5]), (8, 1000, 4, [2, 2, 2, 2]), (9, 1000, 1, [9]), (3, 7, 4, [1, 1, 1]),
    (100, 10, 3, [9, 9, 9, 9] + [8] * 8),
])
def test_balanced_sizes(total, per_shard, multiple, expected):
    assert balanced_sizes(total, per_shard, multiple) == expected


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_with_workers_read_the_config_once(dataset, tmp_path, repo):
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    launched = subprocess.run([accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port",
                               str(free_port()), str(repo / "tests" / "stream_ranks.py"), str(dataset), "pairs",
                               str(tmp_path)], cwd=repo, capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[-3000:]
    everything = sorted(f"pair{i:03d}" for i in range(PAIRS))
    for workers in (0, 2):
        for shuffle in (0, 8):
            ranks = [json.loads((tmp_path / f"rank{r}-{workers}-{shuffle}.json").read_text()) for r in (0, 1)]
            assert [r["world"] for r in ranks] == [2, 2]
            first, second = ranks[0]["keys"], ranks[1]["keys"]
            assert first and second and not set(first) & set(second), (workers, shuffle)
            assert sorted(first + second) == everything, (workers, shuffle)  # each example exactly once
    shuffled = json.loads((tmp_path / "rank0-0-8.json").read_text())["keys"]
    assert shuffled != sorted(shuffled)  # (the set a rank gets changes too: the shard order is shuffled first)


def read_then_checkpoint(stream, n: int) -> tuple[list[str], dict]:
    """The keys of the stream's first ``n`` examples and its state_dict right after the n-th."""
    seen = []
    for row in stream:
        seen.append(row["__key__"])
        if len(seen) == n:
            return seen, stream.state_dict()
    raise AssertionError(f"the stream ended after {len(seen)} examples, before {n}")


def test_resume_without_shuffle_gives_exactly_the_rest(dataset):
    full = keys(training_stream("pairs", dataset, rank=1, world_size=2, shuffle_buffer=0))
    stream = training_stream("pairs", dataset, rank=1, world_size=2, shuffle_buffer=0)
    seen, state = read_then_checkpoint(stream, 9)
    resumed = training_stream("pairs", dataset, rank=1, world_size=2, shuffle_buffer=0)
    resumed.load_state_dict(json.loads(json.dumps(state)))  # a checkpoint goes through JSON or torch.save
    assert seen + keys(resumed) == full


def test_resume_with_shuffle_repeats_nothing_and_skips_at_most_the_buffer(dataset):
    full = keys(training_stream("pairs", dataset, shuffle_buffer=5, seed=1))
    assert sorted(full) == sorted(f"pair{i:03d}" for i in range(PAIRS)) and full != sorted(full)
    stream = training_stream("pairs", dataset, shuffle_buffer=5, seed=1)
    seen, state = read_then_checkpoint(stream, 20)
    assert seen == full[:20]  # the same seed, the same order
    resumed = training_stream("pairs", dataset, shuffle_buffer=5, seed=1)
    resumed.load_state_dict(state)
    rest = keys(resumed)
    assert not set(seen) & set(rest) and len(rest) == len(set(rest))
    assert PAIRS - 5 <= len(seen) + len(rest) <= PAIRS
    stream.set_epoch(1)
    assert keys(stream) != full  # another epoch, another order


def test_shards_that_do_not_divide_still_split_disjointly(dataset, caplog):
    caplog.set_level(logging.WARNING)
    ranks = [keys(training_stream("pairs", dataset, rank=r, world_size=3, shuffle_buffer=0)) for r in range(3)]
    assert "8 shard(s) do not divide among 3 ranks" in caplog.text
    assert sorted(sum(ranks, [])) == sorted(f"pair{i:03d}" for i in range(PAIRS))


def test_images_stay_encoded_on_request(dataset):
    row = next(iter(training_stream("frames", dataset, shuffle_buffer=0, decode_images=False)))
    assert isinstance(row["jpg"]["bytes"], bytes) and row["jpg"]["bytes"][:2] == b"\xff\xd8"
    row = next(iter(training_stream("frames", dataset, shuffle_buffer=0)))
    assert row["jpg"].size == (row["json"]["width"], row["json"]["height"])


def test_rank_and_world(monkeypatch):
    class State:
        process_index, num_processes = 1, 4

    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert rank_and_world() == (0, 1)
    assert rank_and_world(state=State()) == (1, 4)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert rank_and_world() == (2, 3) and rank_and_world(0, 2) == (0, 2)
    with pytest.raises(ValueError, match="rank 3 is not in 0..2"):
        rank_and_world(3, 3)


def readme_training_block() -> str:
    """The README's plain-webdataset training example, as written."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in text.split("```python\n") if "wds.split_by_node" in b]
    return block.split("```", 1)[0]


def test_the_readme_webdataset_recipe_reads_each_example_once(dataset, monkeypatch):
    """The README's recipe, run as written on this folder's shards for 2 ranks x 2 workers: one epoch is every
    pair exactly once; the endless stream keeps going past the config's size."""
    names = [p.name for p in shard_paths(dataset / "pairs")]
    code = readme_training_block().replace('"skyscript-100m/pairs/pairs-{000000..000007}.tar"',
                                           repr(f"{dataset}/pairs/pairs-{{000000..{len(names) - 1:06d}}}.tar"))
    assert code != readme_training_block() and len(names) == 8
    seen = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        scope: dict = {}
        exec(code, scope)
        keys = [row["__key__"] for row in scope["loader"]]
        assert keys and not set(keys) & set(seen)
        seen += keys
    assert sorted(seen) == sorted(f"pair{i:03d}" for i in range(PAIRS))
    endless = iter(scope["endless"])
    assert len([next(endless)["__key__"] for _ in range(PAIRS * 2)]) == PAIRS * 2


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # huggingface_hub's LFS upload
def test_a_hub_repo_streams_like_the_folder(dataset, hub, monkeypatch):
    """The same call on a Hub repo (the in-process fake Hub) gives the folder's examples."""
    from fake_hub import REPO

    from builder.hub import push

    push(dataset, REPO, progress=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("datasets.config.HF_DATASETS_OFFLINE", False)
    local = keys(training_stream("pairs", dataset, rank=0, world_size=2, shuffle_buffer=0))
    assert keys(training_stream("pairs", REPO, rank=0, world_size=2, shuffle_buffer=0)) == local
