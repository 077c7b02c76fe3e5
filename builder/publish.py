"""``skyscript publish OUT DATASET_DIR``: sort a stage folder's samples into the dataset folder's configs.

Samples go to ``DATASET_DIR/<config>/<config>-NNNNNN.tar`` by their record's ``kind``; working members (such as
``raw.jpg``) are dropped, every published member is required, and a frame that did not pass the privacy stage,
or whose ``jpg`` is not byte for byte the image that stage wrote, is refused (an error, not a drop). A stage
folder made by a chain with failed or unfinished tasks is refused too (their samples are missing), unless
``allow_partial``, which the card then states. Publishing is all or nothing: the folder is built beside the
target and moved into place only when every sample passed; otherwise nothing changes.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from builder.card import PIPELINE, PROVENANCE, write_card
from builder.contract import CONFIG_OF_KIND, KINDS
from builder.errors import SkyscriptError
from builder.sample import PUBLISHED_MEMBERS, Sample
from builder.shards import (QUARANTINE, Quarantine, ShardWriter, iter_shard, shard_paths, stage_summaries,
                            stats_path, write_json_atomic)
from builder.validation import check_published


#: samples per published shard, per config: about 100-300 MB per shard at full scale for streaming (a frame
#: ~100-300 KB with its JPEG; a pair 1.5-9 KB (benchmarks/restore.py); scripts and curves are small and few)
SHARD_SAMPLES = {"frames": 1000, "shooting_scripts": 1000, "highlight_curves": 1000, "pairs": 50_000}


class PublishError(SkyscriptError):
    """The stage folder cannot become a dataset folder; nothing was changed."""


def published(sample: Sample) -> Sample:
    """The sample without its working members (``raw.jpg``, raw answers, ...)."""
    keep = set(PUBLISHED_MEMBERS.get(sample.kind, ()))
    return Sample(sample.key, sample.record, {k: v for k, v in sample.members.items() if k in keep})


def pipeline_summary(stage_dir: Path) -> list[dict]:
    """The summaries (``{stage}.stats.json``) of every stage that led to ``stage_dir``, in pipeline order."""
    summaries = [json.loads(p.read_text(encoding="utf-8")) for p in stage_summaries(stage_dir)]
    return sorted(summaries, key=lambda s: s.get("position", 0))


@dataclass
class PublishReport:
    dataset_dir: Path
    counts: dict[str, int]
    shards: list[Path]


def incomplete_tasks(stage_dir: Path, summaries: list[dict]) -> dict[str, int]:
    """Tasks of the chain that failed or never finished, per stage (the summaries, and the markers of
    ``stage_dir`` itself, which a killed run may have left newer than its summary)."""
    missing = {s["stage"]: s["tasks"] - s["done"] for s in summaries if s["tasks"] != s["done"]}
    markers = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((stage_dir / "_tasks").glob("*.json"))]
    failed = sum(1 for m in markers if m.get("status") != "done")
    if failed and summaries:
        last = summaries[-1]["stage"]
        missing[last] = max(missing.get(last, 0), failed)
    return missing


def balanced_sizes(total: int, per_shard: int, multiple_of: int) -> list[int]:
    """Samples per shard for ``total`` samples in a shard count that is a multiple of ``multiple_of`` (at most
    ``per_shard`` each, sizes differing by at most one); with fewer samples than ``multiple_of``, one per shard."""
    shards = multiple_of * math.ceil(math.ceil(total / per_shard) / multiple_of) if total >= multiple_of else total
    return [total // shards + (i < total % shards) for i in range(shards)]


def kind_totals(sources: list[Path]) -> Counter:
    """Samples per record kind in the stage shards, from their stats."""
    totals: Counter = Counter()
    for source in sources:
        stats = stats_path(source)
        if not stats.exists():
            raise PublishError(f"{source}: no {stats.name} beside it (an unfinished shard?)")
        totals.update(json.loads(stats.read_text(encoding="utf-8")).get("kinds", {}))
    return totals


def publish(stage_dir: str | Path, dataset_dir: str | Path, max_count: int | None = None,
            max_bytes: int = 512 * 1024 * 1024, progress: bool = True, allow_partial: bool = False,
            shards_multiple_of: int = 1) -> PublishReport:
    """Build ``dataset_dir`` from the shards of ``stage_dir`` and render its card; a shard holds ``max_count``
    samples (default: :data:`SHARD_SAMPLES` of its config) and at most ``max_bytes``. With ``shards_multiple_of``
    N > 1, every config's shard count is a multiple of N (balanced shards of at most ``max_count``; a config with
    fewer than N samples gets one per shard), so ``split_dataset_by_node`` can give every rank whole shards."""
    stage_dir, dataset_dir = Path(stage_dir), Path(dataset_dir)
    sources = shard_paths(stage_dir)
    if not sources:
        raise PublishError(f"{stage_dir}: no .tar shards to publish")
    summaries = pipeline_summary(stage_dir)
    missing = incomplete_tasks(stage_dir, summaries)
    if missing and not allow_partial:
        raise PublishError(f"{stage_dir}: failed or unfinished tasks ({', '.join(f'{s}: {n}' for s, n in missing.items())})"
                           "; their samples are missing. Rerun those stages (failed tasks are retried), or "
                           "publish with --allow-partial, which the card states")
    build = dataset_dir.parent / f".{dataset_dir.name}.publish-tmp"
    shutil.rmtree(build, ignore_errors=True)
    quarantine = Quarantine(build / QUARANTINE, stage="publish")
    used: Counter = Counter()  # provenance entries, by how many records carry them
    if shards_multiple_of < 1:
        raise PublishError(f"shards_multiple_of must be at least 1, got {shards_multiple_of}")
    totals = kind_totals(sources) if shards_multiple_of > 1 else Counter()
    writers = {
        kind: ShardWriter(build / config, config, quarantine, max_count=max_count or SHARD_SAMPLES[config],
                          max_bytes=max_bytes, check=check_published,
                          sizes=balanced_sizes(totals[kind], max_count or SHARD_SAMPLES[config], shards_multiple_of)
                          if totals[kind] else ())
        for kind, config in CONFIG_OF_KIND.items()
    }
    try:
        for source in tqdm(sources, desc="publish", unit="shard", disable=not progress):
            for sample in iter_shard(source):
                kind = sample.kind
                if kind not in writers:
                    raise PublishError(f"{source}: sample {sample.key!r} has kind {kind!r}, not one of {list(KINDS)}")
                writers[kind].write(published(sample))
                used.update(json.dumps(entry, sort_keys=True) for entry in sample.record.get("provenance") or ())
        for writer in writers.values():
            writer.close()
        if quarantine.path.exists():
            lines = [json.loads(line) for line in quarantine.path.read_text(encoding="utf-8").splitlines()]
            first = "; ".join(f"{q['key']} ({q['reason']} at {q['path']}): {q['detail']}" for q in lines[:3])
            raise PublishError(f"{len(lines)} problem(s), nothing was published; first: {first}")
        dataset_dir.mkdir(parents=True, exist_ok=True)
        for config in CONFIG_OF_KIND.values():
            shutil.rmtree(dataset_dir / config, ignore_errors=True)
            if (build / config).exists() and any((build / config).iterdir()):
                (build / config).rename(dataset_dir / config)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    write_json_atomic(dataset_dir / PIPELINE, [dict(s, incomplete=missing.get(s["stage"], 0)) for s in summaries])
    write_json_atomic(dataset_dir / PROVENANCE, [dict(json.loads(entry), records=n) for entry, n in sorted(used.items())])
    write_card(dataset_dir)
    counts = {CONFIG_OF_KIND[k]: w.totals.written for k, w in writers.items()}
    shards = [dataset_dir / CONFIG_OF_KIND[k] / s.name for k, w in writers.items() for s in w.shards]
    return PublishReport(dataset_dir, counts, shards)
