"""``skyscript push DATASET_DIR REPO_ID`` and ``skyscript verify REPO_ID_OR_DIR``: a dataset folder onto a Hugging
Face dataset repo, and a check of what a folder or a repo serves.

**Limits.** The Hub takes at most about 100 files per commit and about 128 commits per hour. ``push`` commits at
most ``files_per_commit`` files at a time (default and maximum 100) and at most ``commits_per_hour`` commits
(default 120) in any rolling hour of one run: before a commit that would go over, it logs a warning and sleeps.

**What ``upload_folder`` does by itself (huggingface_hub 2.4).** With ``hf_xet`` installed (the default) it runs a
pipeline that commits in adaptive batches of 20 to 1000 files (250 at first) with no regard for the hourly limit,
and drops a file whose remote oid (from the preupload call) equals the local one, after hashing it while uploading
it to Xet (which deduplicates the bytes). Without ``hf_xet`` it makes one commit of everything, also without the
unchanged files. Neither bounds the files per commit, paces commits or says what was skipped. So ``push`` lists
the remote once (``list_repo_tree``: the sha256 of LFS files, the git blob id of the others), hashes only the
local files that have a remote twin of the same size, and calls ``upload_folder`` once per batch of changed files
(``allow_patterns``: the batch's exact paths), which is one commit per call (the pipeline splits a batch only when
its commit fails, and then into smaller commits).

**Order.** Shards in name order, each ``.tar`` followed by its ``.stats.json`` (on disk too the stats mark a shard
complete), then the other files, ``README.md`` last. A commit is atomic, so the card, whose YAML declares the
configs and their counts, arrives with or after the last shard: a half-pushed repo keeps its previous card (or
has none), never a card promising shards that are not there.

**Resume.** A rerun after a crash skips every file the remote already has with the same content; the LFS objects
of a commit that failed are already stored, and the Hub tells the client not to send them again. The pacing only
knows the commits of its own run.

**Token.** From the argument, else ``HF_TOKEN``, else the token file (``huggingface_hub``'s own resolution); it is
never printed or logged. ``HF_HUB_OFFLINE`` refuses both commands for a repo id before any request.

``verify`` reads the card's YAML (``configs``, ``dataset_info``), lists each config's shards (the ``data_files``
patterns, matched folder level by folder level: ``*`` stays within a folder, ``**`` is not supported), and streams
the first shard and seeded random others (``HfFileSystem`` for a repo: ranged reads, nothing kept on disk). Every
sample is checked as published (:func:`builder.validation.check_published`: schema, members, a frame's ``jpg`` is
the one the privacy stage hashed), keys are unique, a shard's sample count equals its ``.stats.json``
``written``, and the config's ``dataset_info`` example count equals the sum over all its shards' stats.
"""

from __future__ import annotations

import glob
import json
import logging
import random
import time
from collections import deque
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from huggingface_hub import HfApi, HfFileSystem, constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils.sha import git_hash, sha_fileobj
from tqdm import tqdm

from builder.card import (CardError, card_metadata_of, check_card, data_file_patterns, dataset_infos,
                          metadata_problems)
from builder.contract import KIND_OF_CONFIG
from builder.errors import SkyscriptError, UsageError
from builder.sample import Sample
from builder.shards import STATS_SUFFIX, TMP_SUFFIX, iter_shard, stats_path
from builder.validate import Report, check_samples, validate_paths
from builder.validation import check_published

logger = logging.getLogger(__name__)

#: the Hub's limits, with a margin under its ~128 commits per hour
MAX_FILES_PER_COMMIT = 100
COMMITS_PER_HOUR = 120
HOUR_S = 3600.0
CARD = "README.md"


class HubError(SkyscriptError):
    """A push or verify that cannot go on (offline, invalid folder, repo not found, a failed commit)."""


def _require_online(action: str) -> None:
    """Refuse before any request when ``HF_HUB_OFFLINE`` is set (as ``huggingface_hub`` reads it)."""
    if constants.is_offline_mode():
        raise HubError(f"HF_HUB_OFFLINE is set; unset it to {action}")


# ---------------------------------------------------------------------------------------------------------- card


def check_dataset_folder(folder: Path) -> None:
    """Refuse a folder that is not a valid dataset folder, or whose card the dataset viewer cannot use."""
    card = folder / CARD
    if not card.is_file():
        raise HubError(f"{folder}: no {CARD}; a dataset folder is made by `skyscript publish`")
    try:
        check_card(folder)
    except CardError as exc:
        raise HubError(f"{exc}; `skyscript card {folder}` renders the card from the shards") from exc
    report = validate_paths([folder], max_errors=1)
    if not report.ok:
        first = report.errors[0] if report.errors else "no shards"
        raise HubError(f"{folder}: not a valid dataset folder ({report.invalid} problem(s), first: {first}); "
                       f"see `skyscript validate {folder}`")


# ---------------------------------------------------------------------------------------------------------- push


@dataclass
class PushReport:
    """What a push did: commits made, files sent and their bytes, files skipped (already there), the repo."""

    url: str
    revision: str
    commits: int = 0
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0

    def summary(self) -> str:
        return (f"{self.uploaded} file(s) uploaded ({self.bytes_uploaded / 1e6:,.1f} MB) in {self.commits} "
                f"commit(s), {self.skipped} already there: {self.url} ({self.revision})")


@dataclass
class CommitPacer:
    """At most ``per_hour`` commits in any rolling hour: :meth:`wait` sleeps, with a logged warning, until one more
    fits; :meth:`record` notes a commit. ``clock`` and ``sleep`` are injectable (tests)."""

    per_hour: int
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _times: deque = field(default_factory=deque, init=False, repr=False)

    def wait(self) -> None:
        while True:
            now = self.clock()
            while self._times and now - self._times[0] >= HOUR_S:
                self._times.popleft()
            if len(self._times) < self.per_hour:
                return
            delay = self._times[0] + HOUR_S - now
            logger.warning("%d commits in the last hour (limit %d): waiting %.0f s before the next one",
                           len(self._times), self.per_hour, delay)
            self.sleep(delay)

    def record(self) -> None:
        self._times.append(self.clock())


def _push_order(path: str) -> tuple[int, str, int]:
    """Shards first, each ``.tar`` before its ``.stats.json``; then the other files; ``README.md`` last."""
    if path == CARD:
        return 2, "", 0
    if path.endswith(".tar"):
        return 0, path.removesuffix(".tar"), 0
    if path.endswith(STATS_SUFFIX):
        return 0, path.removesuffix(STATS_SUFFIX), 1
    return 1, path, 0


def local_files(folder: Path) -> list[str]:
    """The files of a folder as repo paths, in push order; hidden and temporary files left out."""
    paths = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted((p for p in paths if not p.endswith(TMP_SUFFIX)
                   and not any(part.startswith(".") for part in p.split("/"))), key=_push_order)


def remote_files(api: HfApi, repo_id: str, revision: str | None) -> dict[str, RepoFile]:
    """Every file of the repo's revision, by path (one tree listing; it carries LFS sha256s and blob ids)."""
    tree = api.list_repo_tree(repo_id, repo_type="dataset", revision=revision, recursive=True)
    return {entry.path: entry for entry in tree if isinstance(entry, RepoFile)}


def _unchanged(path: Path, remote: RepoFile | None) -> bool:
    """Whether the remote file holds this content: LFS files by sha256, others by git blob id; sizes first."""
    if remote is None or remote.size != path.stat().st_size:
        return False
    if remote.lfs is not None:
        with open(path, "rb") as handle:
            return sha_fileobj(handle).hex() == remote.lfs.sha256
    return git_hash(path.read_bytes()) == remote.blob_id


def _prepare_repo(api: HfApi, repo_id: str, private: bool, revision: str | None) -> str:
    """Create the dataset repo and the branch when missing; returns the repo's URL. A private push into an
    existing public repo is refused (``private`` only sets the visibility of a new repo)."""
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if private and not api.repo_info(repo_id, repo_type="dataset").private:
        raise HubError(f"{repo_id} exists and is public; --private only makes a new repo private: change its "
                       "visibility on the Hub first")
    if revision is not None:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    return str(url)


def _commit(api: HfApi, folder: Path, repo_id: str, revision: str | None, batch: list[str], message: str) -> None:
    """One ``upload_folder`` call, one commit, holding exactly the files of ``batch``."""
    try:
        api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=folder, revision=revision,
                          allow_patterns=[glob.escape(path) for path in batch], commit_message=message)
    except HfHubHTTPError as exc:
        reason = " ".join(str(exc).split())
        raise HubError(f"{message} failed ({reason}); rerun the same command to resume: files already on the Hub "
                       "are skipped") from exc


def push(dataset_dir: str | Path, repo_id: str, *, private: bool = False, revision: str | None = None,
         token: str | None = None, files_per_commit: int = MAX_FILES_PER_COMMIT, progress: bool = True,
         commits_per_hour: int = COMMITS_PER_HOUR, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> PushReport:
    """Push a dataset folder to the dataset repo ``repo_id`` (created when missing, ``private`` if new; the branch
    ``revision`` created when missing), within the Hub's limits, resumably (see the module docstring)."""
    folder = Path(dataset_dir)
    if not 1 <= files_per_commit <= MAX_FILES_PER_COMMIT:
        raise UsageError(f"files_per_commit must be 1..{MAX_FILES_PER_COMMIT} (the Hub's limit), "
                         f"got {files_per_commit}")
    check_dataset_folder(folder)
    _require_online("push")
    api = HfApi(token=token)
    url = _prepare_repo(api, repo_id, private, revision)
    local, remote = local_files(folder), remote_files(api, repo_id, revision)
    stale = sorted(set(remote) - set(local) - {".gitattributes"})
    if stale:
        logger.warning("%s has %d file(s) that %s lacks (first: %s); they stay, and a config's data_files may "
                       "still match them", repo_id, len(stale), folder, stale[0])
    changed = [path for path in local if not _unchanged(folder / path, remote.get(path))]
    report = PushReport(url=url, revision=revision or "main", skipped=len(local) - len(changed))
    batches = [changed[i:i + files_per_commit] for i in range(0, len(changed), files_per_commit)]
    pacer = CommitPacer(commits_per_hour, clock, sleep)
    with tqdm(total=len(changed), desc="push", unit="file", disable=not progress) as bar:
        for number, batch in enumerate(batches, 1):
            pacer.wait()
            size = sum((folder / path).stat().st_size for path in batch)
            logger.info("commit %d/%d: %d file(s), %d bytes", number, len(batches), len(batch), size)
            _commit(api, folder, repo_id, revision, batch, f"skyscript push: part {number} of {len(batches)}")
            pacer.record()
            report.commits += 1
            report.uploaded += len(batch)
            report.bytes_uploaded += size
            bar.update(len(batch))
    return report


# ---------------------------------------------------------------------------------------------------------- verify


@dataclass
class _Source:
    """A dataset folder or a Hub dataset repo as verify reads it: a label that names its files in messages, its
    file paths, and an opener of one file as a binary stream."""

    label: str
    files: list[str]
    opener: Callable[[str], AbstractContextManager[BinaryIO]]

    def where(self, path: str) -> Path:
        return Path(self.label) / path

    def read_text(self, path: str) -> str:
        with self.opener(path) as handle:
            return handle.read().decode("utf-8")


def _local_source(folder: Path) -> _Source:
    return _Source(str(folder), local_files(folder), lambda path: open(folder / path, "rb"))


def _hub_source(repo_id: str, revision: str | None, token: str | None) -> _Source:
    """A Hub dataset repo read through ``HfFileSystem``: ranged reads of the files, nothing kept on disk."""
    _require_online("verify a Hub repo")
    try:
        files = sorted(remote_files(HfApi(token=token), repo_id, revision))
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        name = f"{repo_id}@{revision}" if revision else repo_id
        raise HubError(f"{name}: no such local folder, nor a dataset repo (or revision) on the Hub") from exc
    fs = HfFileSystem(token=token, skip_instance_cache=True)
    root = f"datasets/{repo_id}"
    return _Source(f"{root}@{revision}" if revision else root, files,
                   lambda path: fs.open(f"{root}/{path}", "rb", revision=revision))


def _matches(path: str, pattern: str) -> bool:
    """A ``data_files`` pattern against a repo path, folder level by folder level."""
    return path.count("/") == pattern.count("/") and fnmatchcase(path, pattern)


@dataclass
class _Tally:
    """Counts every sample of a shard and passes on only the first ``limit`` (all when None) to be checked."""

    limit: int | None
    count: int = 0
    complete: bool = False

    def take(self, samples: Iterator[Sample]) -> Iterator[Sample]:
        for sample in samples:
            self.count += 1
            if self.limit is None or self.count <= self.limit:
                yield sample
        self.complete = True


def _stats_written(report: Report, source: _Source, shard: str) -> int | None:
    """The ``written`` count of a shard's ``.stats.json`` (None, and a problem, when it has none)."""
    stats = stats_path(Path(shard)).as_posix()
    if stats not in source.files:
        report.fail(str(source.where(shard)), f"no {STATS_SUFFIX} beside it")
        return None
    return json.loads(source.read_text(stats))["written"]


def _verify_shard(report: Report, source: _Source, shard: str, kind: str, written: int | None,
                  samples_per_shard: int | None, seen: set[str]) -> None:
    """Stream one shard: its samples checked as published (keys unique in ``seen``), its count against its stats."""
    where = source.where(shard)
    tally = _Tally(samples_per_shard)
    with source.opener(shard) as stream:
        check_samples(report, where, tally.take(iter_shard(where, stream)), partial(check_published, kinds=[kind]), seen)
    if tally.complete and written is not None and tally.count != written:
        report.fail(str(where), f"{tally.count} sample(s), but its {STATS_SUFFIX} says written={written}")


def _verify_config(report: Report, source: _Source, config: dict[str, Any], info: dict[str, Any] | None,
                   shards_per_config: int, samples_per_shard: int | None, rng: random.Random) -> None:
    """One ``configs`` entry: its shards' stats against ``dataset_info``, then its first shard and random others."""
    name, card = config.get("config_name", "default"), str(source.where(CARD))
    kind = KIND_OF_CONFIG.get(name)
    if kind is None:
        report.fail(card, f"config {name!r} is not one of {list(KIND_OF_CONFIG)}")
        return
    patterns = data_file_patterns(config)
    shards = [path for path in source.files if any(_matches(path, pattern) for pattern in patterns)]
    if not shards:
        report.fail(card, f"config {name}: no file matches its data_files {patterns}")
        return
    written = {shard: _stats_written(report, source, shard) for shard in shards}
    if info is not None and None not in written.values():
        expected = sum(split.get("num_examples", 0) for split in info.get("splits", []))
        if expected != sum(written.values()):
            report.fail(card, f"config {name}: dataset_info says {expected} example(s), its shards' stats "
                              f"{sum(written.values())}")
    others = rng.sample(shards[1:], min(max(shards_per_config - 1, 0), len(shards) - 1))
    seen: set[str] = set()
    for shard in [shards[0], *others]:
        _verify_shard(report, source, shard, kind, written[shard], samples_per_shard, seen)


def verify(source: str | Path, *, shards_per_config: int = 2, samples_per_shard: int | None = None, seed: int = 0,
           token: str | None = None, revision: str | None = None) -> Report:
    """Check a dataset folder (a path that exists) or a Hub dataset repo (otherwise) as the module docstring says;
    ``samples_per_shard`` checks only the first samples of each shard read (all are still counted)."""
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise HubError(f"{path}: not a dataset folder")
        if revision is not None:
            raise UsageError("--revision applies to a Hub repo, not to a local folder")
        data = _local_source(path)
    else:
        data = _hub_source(str(source), revision, token)
    report = Report()
    if CARD not in data.files:
        report.fail(str(data.where(CARD)), "missing (the configs are declared there)")
        return report
    try:
        metadata = card_metadata_of(data.read_text(CARD), str(data.where(CARD)))
    except CardError as exc:
        raise HubError(str(exc)) from exc
    for problem in metadata_problems(metadata):
        report.fail(str(data.where(CARD)), problem)
    infos, rng = dataset_infos(metadata), random.Random(seed)
    for config in metadata.get("configs") or []:
        _verify_config(report, data, config, infos.get(config.get("config_name", "default")), shards_per_config,
                       samples_per_shard, rng)
    return report
