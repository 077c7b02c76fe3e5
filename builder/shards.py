"""Reading and writing WebDataset tar shards: atomic, deterministic, validated, with stats and quarantine.

A shard is written as ``NAME.tar.tmp`` and renamed to ``NAME.tar`` only when complete, so a killed process never
leaves a ``.tar`` under its final name; its ``NAME.stats.json`` is written after the rename and marks it done.
Members are written in sorted order with fixed owner, mode and mtime: the same samples give the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from webdataset import TarWriter

from builder.errors import SkyscriptError
from builder.sample import Sample
from builder.validation import Problem, check_sample

#: fixed tar header values (reproducible shards); 2024-01-01T00:00:00Z
TAR_MTIME = 1704067200
TMP_SUFFIX = ".tmp"
STATS_SUFFIX = ".stats.json"
QUARANTINE = "quarantine.jsonl"


class ShardError(SkyscriptError):
    """A shard cannot be read (truncated, not a tar, a member without a key)."""


def stats_path(shard: Path) -> Path:
    """``x.tar`` -> ``x.stats.json``."""
    return shard.with_name(shard.name.removesuffix(".tar") + STATS_SUFFIX)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file through a temporary file and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any, compact: bool = False) -> None:
    """Write JSON atomically (:func:`write_bytes_atomic`), indented unless ``compact``."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False,
                      **({"separators": (",", ":")} if compact else {"indent": 2}))
    write_bytes_atomic(path, (text + "\n").encode())


def split_member(name: str) -> tuple[str, str]:
    """``dir/key.raw.jpg`` -> ``("key", "raw.jpg")``: the key ends at the basename's first dot."""
    base = name.rsplit("/", 1)[-1]
    key, dot, ext = base.partition(".")
    if not dot or not key or not ext:
        raise ShardError(f"member {name!r} has no key.extension name")
    return key, ext


def iter_shard(path: str | Path, stream: BinaryIO | None = None) -> Iterator[Sample]:
    """Samples of one shard in order; a member named ``json`` is parsed (invalid JSON stays raw bytes).

    ``stream``: an opened, seekable binary file to read instead of opening ``path`` (which then only names the
    shard), e.g. a file on the Hub; it is left open. Raises ``ShardError`` naming the shard when it is truncated or
    not a tar.
    """
    path = Path(path)
    current: dict[str, bytes] = {}
    current_key: str | None = None

    def flush() -> Sample:
        raw = current.pop("json", None)
        try:
            record = json.loads(raw) if raw is not None else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = raw
        return Sample(current_key or "", record, dict(current))

    try:
        with (nullcontext(stream) if stream is not None else open(path, "rb") as raw,
              tarfile.open(fileobj=raw, mode="r:") as tar):
            for info in tar:
                if not info.isfile():
                    continue
                key, ext = split_member(info.name)
                if current_key is not None and key != current_key:
                    yield flush()
                    current = {}
                if ext in current:
                    raise ShardError(f"{path}: duplicate member {info.name!r}")
                current_key = key
                handle = tar.extractfile(info)
                current[ext] = handle.read() if handle else b""
            raw.seek(tar.offset)
            if raw.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
                raise ShardError(f"{path}: truncated shard (no end-of-archive marker after {tar.offset} bytes)")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ShardError(f"{path}: unreadable shard ({exc})") from exc
    if current_key is not None:
        yield flush()


#: a stage's summary, ``{stage}.stats.json`` (a shard's stats have a dash and a number in the name)
STAGE_SUMMARY = re.compile(r"^[a-z_]+\.stats\.json$")


def stage_summaries(folder: str | Path) -> list[Path]:
    """The stage summaries in a stage folder, in name order."""
    return sorted(p for p in Path(folder).glob("*.stats.json") if STAGE_SUMMARY.match(p.name))


def shard_paths(folder: str | Path) -> list[Path]:
    """Complete shards of a folder (``*.tar``, not ``*.tar.tmp``), in name order."""
    return sorted(p for p in Path(folder).glob("*.tar") if p.is_file())


@dataclass
class Quarantine:
    """Appends one JSON line per refused item: ``{key, stage, reason, path, detail, source}``."""

    path: Path
    stage: str

    def add(self, key: str, reason: str, detail: str, path: str | None = None, source: str | None = None) -> None:
        line = {"key": key, "stage": self.stage, "reason": reason, "path": path, "detail": detail, "source": source}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")

    def add_problem(self, problem: Problem, source: str | None = None) -> None:
        self.add(problem.key, problem.reason, problem.message, problem.path, source)


def merge_quarantine(parts: Iterable[Path], target: Path) -> int:
    """Rebuild ``target`` from the tasks' quarantine parts, in order and without duplicate lines (so a rerun adds
    none, and a redone task's old lines go with its old part); returns the line count."""
    seen: dict[str, None] = {}
    for part in sorted(parts):
        if part.exists():
            for line in part.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    seen.setdefault(line, None)
    tmp = target.with_name(target.name + TMP_SUFFIX)
    tmp.write_text("".join(line + "\n" for line in seen), encoding="utf-8")
    os.replace(tmp, target)
    return len(seen)


@dataclass
class ShardStats:
    """What one shard holds; saved beside it as ``.stats.json``."""

    shard: str
    written: int = 0
    bytes: int = 0
    seconds: float = 0.0
    kinds: Counter = field(default_factory=Counter)
    videos: Counter = field(default_factory=Counter)
    quarantined: Counter = field(default_factory=Counter)
    extra: Counter = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "shard": self.shard,
            "written": self.written,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "kinds": dict(sorted(self.kinds.items())),
            "videos": dict(sorted(self.videos.items())),
            "quarantined": dict(sorted(self.quarantined.items())),
            "counts": dict(sorted(self.extra.items())),
        }


def video_of(sample: Sample) -> str:
    """The sample's ``video_id`` ("" for a record without one); shard stats count samples per video, so a stage
    can find a video's samples without opening every shard."""
    value = sample.record.get("video_id") if isinstance(sample.record, dict) else None
    return value if isinstance(value, str) else ""


class ShardWriter:
    """Writes validated samples to ``{folder}/{prefix}-{n:06d}.tar``, rolling over at ``max_count``/``max_bytes``
    (with ``sizes``: after ``sizes[n]`` samples in shard n; with ``single``: one shard ``{folder}/{prefix}.tar``,
    never rolled over).

    Every sample goes through ``check`` (by default :func:`builder.validation.check_sample`); a sample with
    problems is not written but added to ``quarantine`` with its key, JSON path and message. Use as a context
    manager: on an exception the current shard stays a ``.tmp`` (removed by the next run) and is never renamed.
    """

    def __init__(
        self,
        folder: str | Path,
        prefix: str,
        quarantine: Quarantine,
        max_count: int = 1000,
        max_bytes: int = 512 * 1024 * 1024,
        check: Callable[[Sample], list[Problem]] = check_sample,
        source: str | None = None,
        single: bool = False,
        sizes: Sequence[int] = (),
    ) -> None:
        self.folder = Path(folder)
        self.sizes = tuple(sizes)  # samples of each shard in turn, instead of max_count/max_bytes (balanced shards)
        self.single = single
        self.prefix = prefix
        self.quarantine = quarantine
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.check = check
        self.source = source
        self.shards: list[Path] = []
        self.totals = ShardStats(shard=f"{prefix}-*")
        self._index = 0
        self._tar: TarWriter | None = None
        self._handle: io.BufferedWriter | None = None
        self._stats: ShardStats | None = None
        self._started = 0.0
        self._keys: set[str] = set()
        self.folder.mkdir(parents=True, exist_ok=True)

    def _open(self) -> None:
        name = f"{self.prefix}.tar" if self.single else f"{self.prefix}-{self._index:06d}.tar"
        self._index += 1
        self._handle = open(self.folder / (name + TMP_SUFFIX), "wb")
        self._tar = TarWriter(self._handle, user="skyscript", group="skyscript", mode=0o444, encoder=False,
                              mtime=TAR_MTIME)
        self._stats = ShardStats(shard=name)
        self._started = time.perf_counter()

    def count(self, name: str, n: int = 1) -> None:
        """Count an event of the stage (e.g. ``faces``) in the current shard's stats."""
        if self._stats is None:
            self._open()
        self._stats.extra[name] += n
        self.totals.extra[name] += n

    def write(self, sample: Sample) -> bool:
        """Validate and write one sample; returns False when it went to quarantine instead."""
        problems = self.check(sample)
        if not problems and sample.key in self._keys:
            problems = [Problem(sample.key, "key", None, "duplicate key in this output")]
        if self._stats is None:
            self._open()
        if problems:
            for problem in problems:
                self.quarantine.add_problem(problem, source=self.source)
            reason = problems[0].reason
            self._stats.quarantined[reason] += 1
            self.totals.quarantined[reason] += 1
            return False
        files = sample.files()
        size = self._tar.write({"__key__": sample.key, **files})
        self._keys.add(sample.key)
        self._stats.written += 1
        self._stats.bytes += size
        self._stats.kinds[sample.kind] += 1
        video = video_of(sample)
        self._stats.videos[video] += 1
        self.totals.written += 1
        self.totals.bytes += size
        self.totals.kinds[sample.kind] += 1
        self.totals.videos[video] += 1
        if self.sizes:
            full = self._stats.written >= self.sizes[min(self._index, len(self.sizes)) - 1]
        else:
            full = self._stats.written >= self.max_count or self._stats.bytes >= self.max_bytes
        if full and not self.single:
            self._finish()
        return True

    def _finish(self) -> None:
        """Close the current shard, rename it into place, then write its stats (the completion marker)."""
        if self._tar is None:
            return
        self._tar.close()
        self._handle.close()
        tmp = self.folder / (self._stats.shard + TMP_SUFFIX)
        if self._stats.written == 0:
            tmp.unlink()  # only quarantined samples: no empty shard, the quarantine and totals keep the counts
        else:
            final = self.folder / self._stats.shard
            os.replace(tmp, final)
            self._stats.seconds = time.perf_counter() - self._started
            self.totals.seconds += self._stats.seconds
            write_json_atomic(stats_path(final), self._stats.to_json())
            self.shards.append(final)
        self._tar = self._handle = self._stats = None

    def close(self) -> None:
        self._finish()

    def abort(self) -> None:
        """Drop the shard being written (its ``.tmp``); completed shards stay."""
        if self._tar is not None:
            self._tar.close()  # finish the tar stream so nothing writes to it later; the file is deleted anyway
            self._handle.close()
            (self.folder / (self._stats.shard + TMP_SUFFIX)).unlink(missing_ok=True)
            self._tar = self._handle = self._stats = None

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def remove_partial(folder: str | Path) -> list[Path]:
    """Delete ``*.tmp`` files a crashed run left in ``folder``; returns what was removed."""
    removed = sorted(Path(folder).glob(f"*{TMP_SUFFIX}"))
    for path in removed:
        path.unlink()
    return removed
