"""Samples/s PER RANK of streaming a config for training, 1 and 2 processes x 0 and 2 DataLoader workers, two ways:

(a) ``datasets``: ``builder.streaming.training_stream(config, folder, rank=, world_size=, shuffle_buffer=)`` (what
    a training script uses: ``load_dataset(..., streaming=True)`` + ``split_dataset_by_node``; typed features from
    the card's YAML, images decoded to PIL by the Image feature);
(b) plain ``webdataset``: ``wds.WebDataset(urls, nodesplitter=wds.split_by_node, workersplitter=wds.split_by_worker,
    shardshuffle=...)`` + ``.decode("pil")`` (JSON parsed, JPEG/PNG to PIL; JSON-only samples just parsed),

each through a ``torch.utils.data.DataLoader`` with the same ``num_workers`` (0 or 2) and ``batch_size``
(``--batch-size``, batches kept as lists of rows), on the SAME shards of each config, in one run.

The data (by default; ``--dataset DIR`` measures a published folder as it is instead): every config is published on
its own into a temporary folder with ``builder.publish.publish(..., max_count=ceil(n/8), shards_multiple_of=4)``,
so that it has 8 balanced shards (``--shards``) and 2 ranks x 2 workers each read 2 whole shards. Its samples are
real records replicated under new keys (``bench000123_<original key>``; records and members byte for byte the
originals): those of the demo dataset folder ``skyscript-100m`` when it holds shards (after ``make demo``: 5 frames
of the bundled clip, 1280x720 JPEGs of ~190 KB; 1 shooting script, ~2 KB of JSON; 1 highlight curve with its
900x513 PNG of ~50 KB; 1 pair, ~0.6 KB of JSON), else 16 of each kind from the test factories
(``tests/factories.py``: ``frame_sample`` with 1280x720 JPEGs, ``shooting_script_record``,
``highlight_curve_sample``, ``pair_record``). ``--source DIR`` replicates another published folder. The stage is
written without re-validating the copies; ``publish`` validates every sample as always (schema, images decoded).

The 2-process runs are this same script launched by ``accelerate launch --multi_gpu --num_processes 2`` (on CPU,
the gloo backend) in ``--worker PLAN.json`` mode; each rank writes its figures to ``rank{R}.json`` beside the plan
and the parent reads them. The ranks start every measurement together (a barrier), so they compete for the CPUs
as in a real run.

What the figures mean. A measurement creates the stream and its DataLoader and iterates one epoch of the rank's
share. Startup (creating the stream, ``load_dataset``'s resolving of the folder, forking the workers, filling the
first batch of every worker: the first ``max(1, workers)`` batches) is excluded and shown apart as "startup s" (the
slowest rank). Samples/s per rank = the samples a rank read in the window when every rank was past its startup and
still reading (all ranks' batches are timed on the machine's one monotonic clock), over that window's seconds (from
the first to the last of its batches in it), averaged over the ranks; 1 process: its whole epoch after startup.
Total samples/s = their sum. A total is marked ``*`` when that window held fewer than 3 batches of some rank
(startups too far apart, or epochs too short): the rates are then each rank's own steady state, partly read alone.
Each sample is checked (images are PIL images, the record a dict), and the ranks' counts must add up to the config.
With ``--repeat N`` each measurement is run N times and the best (highest total) is kept. The baseline, per config,
is 1 process, 0 workers, plain webdataset; "x rank" and "x total" are per-rank and total samples/s over the
baseline's. "CPU ms/sample" is the CPU time of the ranks and their workers over the whole measurement (startup
included) per sample: unlike the rates, it does not depend on what else the machine runs (on a busy machine more
processes also get a bigger share of the CPUs, so 2 processes can show more than twice the samples/s of 1 on 2
cores). No shuffling by default (``--shuffle N``: ``training_stream(shuffle_buffer=N)``, which shuffles the shard
order before splitting it among ranks, vs ``WebDataset(shardshuffle=N)`` + ``.shuffle(N)``, which shuffle each
rank's shards after the split, then the samples through a buffer of N).

What the two readers do per row, besides reading the tar: ``datasets`` casts every row to the card's Features
(``encode_example``: most of its time on JSON-only rows) and decodes an image with ``PIL.Image.open`` + ``load()``;
``.decode("pil")`` parses the JSON and decodes an image with ``open`` + ``load()`` + ``convert("RGB")`` twice
(two copies of the pixels; RGBA curves lose their alpha). With DataLoader workers every row is pickled to the
main process: a 1280x720 PIL image is 2.7 MB of raw pixels.

Offline (``HF_HUB_OFFLINE=1``); the temporary folder is removed afterwards.

Run: ``.venv/bin/python benchmarks/streaming.py`` (about 2-3 minutes on 2 cores: frames 256, shooting_scripts
3000, highlight_curves 256, pairs 12000 samples, so that every measurement lasts a second or more; a frame or a
curve costs ~10 ms of CPU to decode, a pair ~0.1-0.3 ms); ``--configs pairs`` for a quick one; ``--samples 500``
or ``--samples frames=512 pairs=20000``; ``--repeat 3``; ``--no-two`` for 1 process only.
"""

from __future__ import annotations

import os
import time

STARTED = time.perf_counter()  # the run's duration includes the imports and the accelerate launch
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Iterable  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/factories.py (a dependency ships a `tests` package)

from common import figure, text_table  # noqa: E402

from builder.contract import CONFIG_OF_KIND  # noqa: E402
from builder.publish import publish  # noqa: E402
from builder.sample import Sample  # noqa: E402
from builder.shards import QUARANTINE, Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402

CONFIGS = tuple(CONFIG_OF_KIND.values())  # frames, shooting_scripts, highlight_curves, pairs
IMAGE_COLUMN = {"frames": "jpg", "highlight_curves": "png"}
DEFAULT_SAMPLES = {"frames": 256, "shooting_scripts": 3000, "highlight_curves": 256, "pairs": 12000}
DEMO = ROOT / "skyscript-100m"
READERS = ("datasets", "webdataset")
WORKERS = (0, 2)
PROCESSES = 2  # the multi-process runs: 2 ranks (accelerate launch --num_processes 2)
MIN_BATCHES = 3  # batches of every rank the window when all ranks read must hold to measure them together


# ---- the data ----------------------------------------------------------------------------------------------------

def has_shards(folder: Path) -> bool:
    return folder.is_dir() and any(shard_paths(folder / c) for c in CONFIGS if (folder / c).is_dir())


def source_samples(source: Path | None) -> tuple[dict[str, list[Sample]], str]:
    """The samples to replicate, per config, and where they come from."""
    if source is not None:
        pools = {c: [s for p in shard_paths(source / c) for s in iter_shard(p)] if (source / c).is_dir() else []
                 for c in CONFIGS}
        return pools, f"the published samples of {source}"
    from factories import frame_sample, highlight_curve_sample, pair_record, shooting_script_record

    scripts = [shooting_script_record(i) for i in range(16)]
    pairs = [pair_record(i) for i in range(16)]
    pools = {
        "frames": [frame_sample(i, width=1280, height=720) for i in range(16)],
        "shooting_scripts": [Sample(r["script_id"], r) for r in scripts],
        "highlight_curves": [highlight_curve_sample(i) for i in range(16)],
        "pairs": [Sample(r["pair_id"], r) for r in pairs],
    }
    return pools, "16 records of each kind from tests/factories.py (frames 1280x720)"


def no_check(sample: Sample) -> list:
    return []  # the copies of valid samples; publish() validates every one of them anyway


def build(root: Path, config: str, pool: list[Sample], n: int, shards: int) -> Path:
    """``n`` copies of ``pool`` under new keys, published as a dataset folder of ``shards`` balanced shards."""
    if not pool:
        raise SystemExit(f"{config}: no samples to replicate")
    stage = root / f"{config}-stage"
    with ShardWriter(stage, "stage", Quarantine(stage / QUARANTINE, stage="bench"), max_count=n,
                     check=no_check) as writer:
        for i in range(n):
            original = pool[i % len(pool)]
            writer.write(Sample(f"bench{i:06d}_{original.key}", original.record, original.members))
    dataset = root / f"{config}-dataset"
    publish(stage, dataset, max_count=math.ceil(n / shards), progress=False, shards_multiple_of=4)
    shutil.rmtree(stage)
    return dataset


def describe(dataset: Path, config: str) -> str:
    paths = shard_paths(dataset / config)
    size = sum(p.stat().st_size for p in paths)
    count = sum(json.loads(p.with_suffix(".stats.json").read_text())["written"] for p in paths)
    return f"{config}: {count} samples in {len(paths)} shards, {size / max(count, 1) / 1024:.1f} KiB/sample"


def count_of(dataset: Path, config: str) -> int:
    return sum(json.loads(p.with_suffix(".stats.json").read_text())["written"] for p in shard_paths(dataset / config))


# ---- one measurement ---------------------------------------------------------------------------------------------

def as_list(batch: list) -> list:
    return batch  # collate: keep the rows as they are (PIL images, dicts)


def make_stream(reader: str, dataset: Path, config: str, rank: int, world: int, shuffle: int):
    if reader == "datasets":
        from builder.streaming import training_stream

        return training_stream(config, dataset, rank=rank, world_size=world, shuffle_buffer=shuffle, seed=0)
    import webdataset as wds

    urls = [str(p) for p in shard_paths(dataset / config)]
    stream = wds.WebDataset(urls, nodesplitter=wds.split_by_node, workersplitter=wds.split_by_worker,
                            shardshuffle=shuffle or False, seed=0, empty_check=False)
    if shuffle:
        stream = stream.shuffle(shuffle)
    return stream.decode("pil")


def check_row(row: dict, config: str) -> None:
    from PIL import Image

    assert row["__key__"] and isinstance(row["json"], dict) and row["json"].get("kind"), row.keys()
    column = IMAGE_COLUMN.get(config)
    if column:
        assert isinstance(row[column], Image.Image), (config, type(row[column]))


def cpu_seconds() -> float:
    """CPU time of this process and its children that have ended (the DataLoader workers once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(reader: str, dataset: Path, config: str, rank: int, world: int, workers: int, batch_size: int,
            shuffle: int) -> dict[str, Any]:
    """One epoch of this rank's share: when each batch came (``time.monotonic``, one clock for every process of
    the machine) and its size; startup = until the first batch of every worker has come."""
    import torch

    cpu = cpu_seconds()
    started = time.monotonic()
    stream = make_stream(reader, dataset, config, rank, world, shuffle)
    loader = torch.utils.data.DataLoader(stream, batch_size=batch_size, num_workers=workers, collate_fn=as_list)
    batches = iter(loader)
    arrivals = []
    for batch in batches:
        arrivals.append((time.monotonic(), len(batch)))
        if len(arrivals) == 1:
            check_row(batch[0], config)
    del batches, loader  # (exhausted: its workers have been joined, so their CPU time is in RUSAGE_CHILDREN)
    return {"rank": rank, "count": sum(n for _, n in arrivals), "cpu_s": cpu_seconds() - cpu, "started": started,
            "arrivals": arrivals, "startup_batches": max(1, workers)}


def steady_start(run: dict) -> float:
    """When the rank's startup ended: the arrival of the first batch of its last worker."""
    arrivals = run["arrivals"]
    return arrivals[min(run["startup_batches"], len(arrivals)) - 1][0] if arrivals else run["started"]


def window_rate(arrivals: list, start: float, end: float) -> tuple[float | None, int]:
    """Samples/s of the batches that came from ``start`` to ``end``: the samples after the first of them over the
    seconds from the first to the last; and how many batches that is."""
    inside = [(t, n) for t, n in arrivals if start <= t <= end]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None, len(inside)
    return sum(n for _, n in inside[1:]) / (inside[-1][0] - inside[0][0]), len(inside)


def combine(ranks: list[dict]) -> dict[str, Any]:
    """One measurement's ranks: their samples/s while all of them were past startup and still reading (with one
    rank: its whole steady state), the mean and the sum; the slowest startup; samples read; CPU ms per sample.
    When that common window holds fewer than ``MIN_BATCHES`` batches of some rank, each rank's whole steady state
    is used instead, and ``concurrent`` is False."""
    start = max(steady_start(r) for r in ranks)
    end = min(r["arrivals"][-1][0] if r["arrivals"] else r["started"] for r in ranks)
    found = [window_rate(r["arrivals"], start, end) for r in ranks]
    concurrent = all(n >= MIN_BATCHES for _, n in found)
    if not concurrent:
        found = [window_rate(r["arrivals"], steady_start(r), float("inf")) for r in ranks]
    rates = [rate for rate, _ in found if rate is not None]
    count = sum(r["count"] for r in ranks)
    return {"per_rank": sum(rates) / len(rates) if rates else None, "total": sum(rates) if rates else None,
            "concurrent": concurrent, "window_s": max(0.0, end - start),
            "startup_s": max(steady_start(r) - r["started"] for r in ranks), "count": count,
            "cpu_ms": 1000 * sum(r["cpu_s"] for r in ranks) / max(1, count)}


def plan_cases(configs: list[str], readers: Iterable[str] = READERS) -> list[tuple[str, str, int]]:
    return [(c, r, w) for c in configs for r in readers for w in WORKERS]


def run_cases(plan: dict, rank: int, world: int, barrier=None) -> list[dict]:
    """Every (config, reader, workers) of the plan, ``repeat`` times each, as this rank; one dict per run."""
    out = []
    for config, reader, workers in plan_cases(plan["configs"]):
        for attempt in range(plan["repeat"]):
            if barrier:
                barrier()
            result = measure(reader, Path(plan["datasets"][config]), config, rank, world, workers,
                             plan["batch_size"], plan["shuffle"])
            out.append(dict(result, config=config, reader=reader, workers=workers, attempt=attempt))
    return out


def worker_main(plan_path: Path) -> int:
    """Under ``accelerate launch``: this rank's runs, written to ``rank{R}.json`` beside the plan."""
    import torch
    from accelerate import PartialState

    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    state = PartialState(cpu=not torch.cuda.is_available())
    plan = json.loads(plan_path.read_text())
    results = run_cases(plan, state.process_index, state.num_processes, barrier=state.wait_for_everyone)
    (plan_path.parent / f"rank{state.process_index}.json").write_text(
        json.dumps({"rank": state.process_index, "world": state.num_processes, "results": results}))
    state.wait_for_everyone()
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_two(plan: dict, work: Path, timeout: float) -> list[list[dict]]:
    """The plan under ``accelerate launch --multi_gpu --num_processes 2``; each rank's runs."""
    plan_path = work / "plan.json"
    plan_path.write_text(json.dumps(plan))
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", str(PROCESSES), "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
               str(Path(__file__).resolve()), "--worker", str(plan_path)]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    launched = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if launched.returncode != 0:
        raise SystemExit(f"accelerate launch failed (exit {launched.returncode}):\n{launched.stderr[-3000:]}")
    return [json.loads((work / f"rank{r}.json").read_text())["results"] for r in range(PROCESSES)]


# ---- the table ---------------------------------------------------------------------------------------------------

def best_of(runs: list[dict]) -> dict:
    return max(runs, key=lambda r: r["total"] or 0.0)


def number(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def times(v: float | None, base: float | None) -> str:
    return "—" if v is None or not base else f"{v / base:.2f}x"


HEADER = ("config", "reader", "processes", "workers", "samples/s per rank", "total samples/s", "x rank", "x total",
          "startup s", "CPU ms/sample")


def parse_samples(values: list[str] | None) -> dict[str, int]:
    samples = dict(DEFAULT_SAMPLES)
    for value in values or []:
        if "=" in value:
            config, n = value.split("=", 1)
            if config not in CONFIGS:
                raise SystemExit(f"--samples {value}: {config!r} is not one of {', '.join(CONFIGS)}")
            samples[config] = int(n)
        else:
            samples = {c: int(value) for c in CONFIGS}
    if min(samples.values()) < 1:
        raise SystemExit("--samples must be at least 1")
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS), help="configs to measure")
    parser.add_argument("--samples", nargs="+", metavar="N|CONFIG=N",
                        help="samples per config of the built data: N for all, or CONFIG=N (default: "
                             + ", ".join(f"{c}={n}" for c, n in DEFAULT_SAMPLES.items()) + ")")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the best is kept (default 1)")
    parser.add_argument("--dataset", type=Path, help="measure this published folder as it is (default: build one)")
    parser.add_argument("--source", type=Path, help="the published folder whose samples are replicated (default: "
                                                    "skyscript-100m when it holds shards, else the test factories)")
    parser.add_argument("--shards", type=int, default=8, help="shards per config of the built data, a multiple of 4 "
                                                              "(default 8)")
    parser.add_argument("--batch-size", type=int, default=8, help="DataLoader batch size (default 8)")
    parser.add_argument("--shuffle", type=int, default=0, help="shuffle buffer (default 0: shard order)")
    parser.add_argument("--no-two", action="store_true", help="1 process only (no accelerate launch)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the 2-process run may take")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # under accelerate launch: the plan
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    if args.shards < 4 or args.shards % 4:
        raise SystemExit("--shards must be a multiple of 4 (2 ranks x 2 workers)")
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        os.environ.pop(name, None)  # the 1-process runs are one process, whatever launched this

    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    samples = parse_samples(args.samples)
    began = STARTED
    print(f"datasets {version('datasets')}, webdataset {version('webdataset')}, torch {version('torch')}, "
          f"accelerate {version('accelerate')}; {os.cpu_count()} CPUs; batch size {args.batch_size}, "
          f"shuffle {args.shuffle or 'off'}, repeat {args.repeat}")
    work = Path(tempfile.mkdtemp(prefix="skyscript-streaming-"))
    try:
        if args.dataset:
            if not has_shards(args.dataset):
                raise SystemExit(f"{args.dataset}: no shards")
            folders = {c: args.dataset for c in args.configs}
            print(f"data: {args.dataset} as it is")
        else:
            source = args.source or (DEMO if has_shards(DEMO) else None)
            pools, where = source_samples(source)
            print(f"data: replicas of {where}, under new keys, each config published on its own with "
                  f"shards_multiple_of=4 into {work}")
            folders = {c: build(work, c, pools[c], samples[c], args.shards) for c in args.configs}
        for config in args.configs:
            line = describe(folders[config], config)
            shards = len(shard_paths(folders[config] / config))
            warn = "" if shards % (PROCESSES * max(WORKERS)) == 0 else \
                f"  (warning: {shards} shards do not divide among {PROCESSES} ranks x {max(WORKERS)} workers)"
            print(f"  {line}{warn}")
        built = time.perf_counter()
        print(f"imports and data: {built - began:.0f} s")

        plan = {"configs": args.configs, "datasets": {c: str(f) for c, f in folders.items()},
                "repeat": args.repeat, "batch_size": args.batch_size, "shuffle": args.shuffle}
        one = run_cases(plan, 0, 1)
        results = {(r["config"], r["reader"], 1, r["workers"]): [] for r in one}
        for r in one:
            results[(r["config"], r["reader"], 1, r["workers"])].append(combine([r]))
        single = time.perf_counter()
        print(f"1 process: {single - built:.0f} s")
        if not args.no_two:
            ranks = launch_two(plan, work, args.timeout)
            for runs in zip(*ranks):  # the same run on every rank, in the same order
                first = runs[0]
                results.setdefault((first["config"], first["reader"], PROCESSES, first["workers"]), []).append(
                    combine(list(runs)))
            print(f"{PROCESSES} processes (accelerate launch): {time.perf_counter() - single:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    best = {key: best_of(runs) for key, runs in results.items()}
    for config in args.configs:
        expected = count_of(folders[config], config) if args.dataset else samples[config]
        base = best[(config, "webdataset", 1, 0)]
        for reader in READERS:
            for processes in (1, PROCESSES):
                for workers in WORKERS:
                    found = best.get((config, reader, processes, workers))
                    if found is None:
                        continue
                    if found["count"] != expected:
                        raise SystemExit(f"{config} {reader} {processes}x{workers}: read {found['count']} samples, "
                                         f"expected {expected}")
                    label = "webdataset" + (" (baseline)" if (reader, processes, workers) == ("webdataset", 1, 0)
                                            else "") if reader == "webdataset" else "datasets (training_stream)"
                    rows.append((config, label, str(processes), str(workers), number(found["per_rank"]),
                                 number(found["total"]) + ("" if found["concurrent"] or found["total"] is None else "*"),
                                 times(found["per_rank"], base["per_rank"]),
                                 times(found["total"], base["total"]), f"{found['startup_s']:.2f}",
                                 f"{found['cpu_ms']:.2f}"))
        for reader, processes, workers, name in [
            ("datasets", 1, 0, "datasets streaming, 1 process, 0 workers"),
            ("datasets", PROCESSES, 2, f"datasets streaming, {PROCESSES} processes x 2 workers, per rank"),
            ("webdataset", PROCESSES, 2, f"webdataset, {PROCESSES} processes x 2 workers, per rank"),
        ]:
            found = best.get((config, reader, processes, workers))
            if found and found["per_rank"] is not None and base["per_rank"] is not None:
                figure("streaming", f"{config}: {name}", found["per_rank"], "samples/s",
                       "webdataset, 1 process, 0 workers", base["per_rank"])
    print()
    print(text_table(HEADER, rows, {2, 3, 4, 5, 6, 7, 8, 9}))
    print(f"\nbaseline: plain webdataset, 1 process, 0 workers, per config. samples/s per rank: what a rank read "
          f"while every rank was past startup and still reading, averaged over the ranks (1 process: its whole "
          f"epoch after startup); total: their sum (* where that window held fewer than {MIN_BATCHES} batches of a "
          f"rank: each rank's own steady state instead, partly alone). x rank, x total: over the baseline's. "
          f"startup s: creating the stream until the first batch of every worker (slowest rank), not in the rates. "
          f"CPU ms/sample: CPU time of the ranks and their workers over the whole measurement (startup included) / "
          f"samples; unlike the rates it does not depend on what else the machine runs. {os.cpu_count()} CPUs for "
          f"{PROCESSES} ranks x up to 2 workers; load average now {os.getloadavg()[0]:.1f}.")
    if any(found["per_rank"] is None for found in best.values()):
        print("—: too few batches for a steady state (a rank needs one more than the max(1, workers) of its "
              "startup): give more samples (the built data, --samples) or a smaller --batch-size.")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
