"""Samples/s of reading a published dataset folder three ways: ``datasets`` streaming, plain ``webdataset``, ``iter_shard``.

Builds two temporary dataset folders the way the pipeline does (``ShardWriter`` into a stage folder, then
``builder.publish.publish``): N ``frames`` samples, each a realistic frame record (``tests/factories.py``) with a
small real JPEG, and N ``shooting_scripts`` samples (JSON only). Then times iterating every row with

(a) ``datasets.load_dataset(folder, config, split="train", streaming=True)`` (typed features from the card's
    YAML; the ``jpg`` column decoded to PIL by the Image feature; the time includes ``load_dataset`` itself),
(b) ``webdataset.WebDataset(urls, shardshuffle=False)`` with ``.decode("pil")`` for frames (JSON parsed, JPEG to
    PIL) and ``.decode()`` for JSON-only samples,
(c) ``builder.shards.iter_shard`` raw (tar members as bytes, JSON parsed), and for frames also with the JPEG
    fully decoded by Pillow (``iter_shard + PIL``, comparable to (a) and (b)),

and prints samples/s side by side with the ratio to (a). Writing and publishing are timed too. Offline
(``HF_HUB_OFFLINE=1``); everything lives in a temporary folder that is removed afterwards.

Run: ``.venv/bin/python benchmarks/reading.py`` (``--n 10000`` samples per config by default, under a minute on
2 cores; ``--width/--height`` of the JPEGs, ``--shard-size`` samples per shard).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import argparse  # noqa: E402
import io  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Iterable  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # factories from the tests folder (a dependency ships a `tests` package)

import datasets  # noqa: E402
import webdataset as wds  # noqa: E402
from PIL import Image  # noqa: E402

from common import figure  # noqa: E402
from factories import frame_key, frame_record, jpeg_bytes, shooting_script_record  # noqa: E402

from builder.contract import CONFIG_OF_KIND  # noqa: E402
from builder.publish import publish  # noqa: E402
from builder.sample import Sample  # noqa: E402
from builder.shards import QUARANTINE, Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402


def frame_samples(n: int, width: int, height: int) -> Iterable[Sample]:
    for i in range(n):
        yield Sample(frame_key(i), frame_record(i, width=width, height=height),
                     {"jpg": jpeg_bytes(width, height, seed=i)})


def script_samples(n: int) -> Iterable[Sample]:
    for i in range(n):
        record = shooting_script_record(i)
        yield Sample(record["script_id"], record)


def build(root: Path, name: str, samples: Iterable[Sample], shard_size: int) -> tuple[Path, float, float]:
    """Stage shards -> published dataset folder; returns the folder and the write and publish seconds."""
    stage = root / f"{name}-stage"
    samples = list(samples)  # made before timing: the writer is measured, not the factories
    start = time.perf_counter()
    with ShardWriter(stage, name, Quarantine(stage / QUARANTINE, stage="bench"), max_count=shard_size) as writer:
        for sample in samples:
            if not writer.write(sample):
                raise SystemExit(f"sample {sample.key} was quarantined: {(stage / QUARANTINE).read_text()[:500]}")
    written = time.perf_counter() - start
    dataset = root / f"{name}-dataset"
    start = time.perf_counter()
    publish(stage, dataset, max_count=shard_size, progress=False)
    return dataset, written, time.perf_counter() - start


def timed(make: Callable[[], Iterable], expected: int, check: Callable[[object], None]) -> float:
    """Samples/s of iterating everything ``make()`` yields (``make`` included in the time)."""
    start = time.perf_counter()
    count = 0
    last = None
    for row in make():
        count += 1
        last = row
    seconds = time.perf_counter() - start
    if count != expected:
        raise SystemExit(f"read {count} rows, expected {expected}")
    check(last)
    return count / seconds


def pil_decoded(sample: Sample) -> Sample:
    with Image.open(io.BytesIO(sample.members["jpg"])) as image:
        image.load()
    return sample


def run_config(dataset: Path, config: str, n: int, images: bool) -> list[tuple[str, float]]:
    urls = [str(p) for p in shard_paths(dataset / config)]

    def hf() -> Iterable:
        return datasets.load_dataset(str(dataset), config, split="train", streaming=True)

    def check_hf(row) -> None:
        assert row["json"]["kind"] and row["__key__"], row
        if images:
            assert isinstance(row["jpg"], Image.Image), type(row["jpg"])

    def plain() -> Iterable:
        source = wds.WebDataset(urls, shardshuffle=False)
        return source.decode("pil") if images else source.decode()

    def check_plain(row) -> None:
        assert row["json"]["kind"], row
        if images:
            assert isinstance(row["jpg"], Image.Image), type(row["jpg"])

    def raw() -> Iterable:
        return (sample for url in urls for sample in iter_shard(url))

    def check_raw(sample) -> None:
        assert sample.record["kind"], sample

    results = [
        ("(a) datasets streaming", timed(hf, n, check_hf)),
        ("(b) webdataset" + (" .decode('pil')" if images else " .decode()"), timed(plain, n, check_plain)),
        ("(c) iter_shard raw", timed(raw, n, check_raw)),
    ]
    if images:
        results.append(("(c) iter_shard + PIL decode", timed(lambda: map(pil_decoded, raw()), n, check_raw)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=10000, help="samples per config (default 10000)")
    parser.add_argument("--width", type=int, default=160, help="JPEG width (default 160)")
    parser.add_argument("--height", type=int, default=90, help="JPEG height (default 90)")
    parser.add_argument("--shard-size", type=int, default=500, help="samples per shard (default 500)")
    args = parser.parse_args(argv)

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    print(f"datasets {version('datasets')}, webdataset {version('webdataset')}, pillow {version('pillow')}; "
          f"{args.n} samples per config, {args.shard_size} per shard, JPEGs {args.width}x{args.height}; "
          f"{os.cpu_count()} CPUs")
    root = Path(tempfile.mkdtemp(prefix="skyscript-reading-"))
    try:
        runs = [
            ("frames", CONFIG_OF_KIND["frame"], frame_samples(args.n, args.width, args.height), True),
            ("scripts", CONFIG_OF_KIND["shooting_script"], script_samples(args.n), False),
        ]
        for name, config, samples, images in runs:
            dataset, written, published = build(root, name, samples, args.shard_size)
            size = sum(p.stat().st_size for p in shard_paths(dataset / config))
            print(f"\n{config}: {args.n} samples in {len(shard_paths(dataset / config))} shards, "
                  f"{size / args.n / 1024:.1f} KiB/sample; ShardWriter {args.n / written:,.0f} samples/s, "
                  f"publish {args.n / published:,.0f} samples/s")
            results = run_config(dataset, config, args.n, images)
            base = results[0][1]
            print(f"  {'reader':<34}{'samples/s':>12}{'vs (a)':>9}")
            for label, value in results:
                print(f"  {label:<34}{value:>12,.0f}{value / base:>8.1f}x")
            for label, value in results[1:]:
                if label != "(c) iter_shard raw" or not images:  # frames: raw bytes are not comparable to (a)
                    figure("reading", f"{name}: {label[4:]}", value, "samples/s", "datasets streaming", base)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
