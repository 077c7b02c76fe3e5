"""``skyscript validate PATH...``: check shards, stage folders, dataset folders and ``.jsonl`` files.

Shards are checked sample by sample with :func:`builder.validation.check_sample`, by each record's ``kind``;
in a dataset folder a config holds one kind and only its published members. ``quarantine.jsonl`` and stats
are skipped. Any invalid record, unknown member, duplicate key, unreadable shard or (in a dataset folder) frame
that skipped the privacy stage makes the report fail.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from functools import partial
from typing import Callable, Iterable, Iterator

from builder.contract import CONFIG_OF_KIND, KIND_OF_CONFIG
from builder.sample import Sample
from builder.shards import QUARANTINE, ShardError, iter_shard, shard_paths
from builder.validation import Problem, check_published, check_sample


@dataclass
class Report:
    """Counts of valid samples per kind, the number of problems and the first few of them."""

    valid: Counter = field(default_factory=Counter)
    invalid: int = 0
    files: int = 0
    errors: list[str] = field(default_factory=list)
    max_errors: int = 20

    def fail(self, where: str, message: str) -> None:
        self.invalid += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(f"{where}: {message}")

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.files > 0

    def summary(self) -> str:
        lines = [f"{self.files} file(s) checked"]
        lines += [f"  {kind}: {n} valid" for kind, n in sorted(self.valid.items())]
        lines.append(f"  invalid: {self.invalid}")
        lines += [f"  {error}" for error in self.errors]
        if self.invalid > len(self.errors):
            lines.append(f"  ... and {self.invalid - len(self.errors)} more")
        return "\n".join(lines)


def iter_jsonl(path: Path) -> Iterator[Sample]:
    """Samples of a ``.jsonl`` file of ``{"__key__": ..., "json": {...}}`` lines (the row shape, no images)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Sample(f"line{number}", f"not JSON: {exc}")
                continue
            if not isinstance(row, dict) or set(row) != {"__key__", "json"}:
                yield Sample(f"line{number}", "a line must be an object with exactly __key__ and json")
                continue
            yield Sample(row["__key__"], row["json"])


def check_samples(report: Report, where: Path, samples: Iterable[Sample], check: Callable[[Sample], list[Problem]],
                  seen: set[str]) -> None:
    """Check each sample into ``report`` (its kind counted when valid); keys must be unique within ``seen``."""
    report.files += 1
    try:
        for sample in samples:
            problems = check(sample)
            if not problems and sample.key in seen:
                report.fail(f"{where} {sample.key}", "duplicate key")
                continue
            seen.add(sample.key)
            if problems:
                first = problems[0]
                report.fail(f"{where} {first.key}", f"{first.reason}" + (f" at {first.path}" if first.path else "")
                            + f": {first.message}")
            else:
                report.valid[sample.kind] += 1
    except ShardError as exc:
        report.fail(str(where), str(exc).removeprefix(f"{where}: "))


def _is_dataset_folder(path: Path) -> bool:
    return (path / "README.md").exists() and any((path / config).is_dir() for config in KIND_OF_CONFIG)


def validate_paths(paths: Iterable[str | Path], max_errors: int = 20) -> Report:
    """Validate every path (see the module docstring) into one report."""
    report = Report(max_errors=max_errors)
    for path in map(Path, paths):
        if path.is_dir() and _is_dataset_folder(path):
            for config, kind in KIND_OF_CONFIG.items():
                seen: set[str] = set()
                for shard in shard_paths(path / config):
                    check_samples(report, shard, iter_shard(shard), partial(check_published, kinds=[kind]), seen)
            stray = [p for p in path.iterdir() if p.is_dir() and p.name not in KIND_OF_CONFIG
                     and not p.name.startswith(".")]
            for folder in stray:
                report.fail(str(folder), f"not a config folder (configs: {', '.join(CONFIG_OF_KIND.values())})")
        elif path.is_dir():
            seen = set()
            files = shard_paths(path) + sorted(p for p in path.glob("*.jsonl") if p.name != QUARANTINE)
            if not files:
                report.fail(str(path), "no .tar shards or .jsonl files")
            for file in files:
                samples = iter_jsonl(file) if file.suffix == ".jsonl" else iter_shard(file)
                check_samples(report, file, samples, check_sample, seen)
        elif path.suffix == ".tar" and path.is_file():
            check_samples(report, path, iter_shard(path), check_sample, set())
        elif path.suffix == ".jsonl" and path.is_file():
            check_samples(report, path, iter_jsonl(path), check_sample, set())
        else:
            report.fail(str(path), "not a shard (.tar), .jsonl file, stage folder or dataset folder")
    return report
