"""The stage runner: resume that knows what produced a task's output, the per-video and per-shard task shapes,
the shared frame loop, and shard names that do not grow along the chain."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Iterator

import pytest
from factories import characters_file_record, frame_sample, pair_record, shots_file_record

from annotate.config import operational, settings_sha
from annotate.runner import FrameStage, InputError, ResumeError, ShardStage, VideoStage, run_stage, stage_main
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths
from builder.video_files import CHARACTERS_FILE, SHOTS_FILE


@dataclass
class TagConfig:
    word: str = "seen"
    workers: int = operational(2)  # changes how, not what
    shard_max_count: int = operational(1000)


class TagMixin:
    """Writes ``word`` and the frame's position in its task into ``description``."""

    config_class = TagConfig

    def begin(self, task, writer) -> None:
        self.position = 0

    def frames(self, batch, writer, quarantine) -> Iterator[Sample]:
        for sample in batch:
            record = dict(sample.record, description=f"{self.config.word} {self.position}")
            self.position += 1
            yield Sample(sample.key, record, sample.members)


class TagVideos(TagMixin, FrameStage, VideoStage[TagConfig]):
    name = "tagvideos"


class TagShards(TagMixin, FrameStage, ShardStage[TagConfig]):
    name = "tagshards"


def shard_pair(indices: list[int]) -> dict:
    """The pair a test shard holds beside frames ``indices``: of the first frame's video."""
    return dict(pair_record(len(indices)), video_id=frame_sample(indices[0]).record["video_id"])


def write_input(folder, layout: dict[str, list[int]], stage: str = "privacy") -> None:
    """Shards named ``{stage}-{name}.tar`` holding factory frames ``i`` (video ``vid{i % 3}``) and a pair."""
    for name, indices in layout.items():
        with ShardWriter(folder, f"{stage}-{name}", Quarantine(folder / "q.jsonl", "t"), single=True) as writer:
            for i in indices:
                assert writer.write(frame_sample(i))
            assert writer.write(Sample(f"pair{name.replace('-', '')}", shard_pair(indices)))


def out_samples(folder) -> list[Sample]:
    return [s for p in shard_paths(folder) for s in iter_shard(p)]


def test_video_tasks_gather_a_video_from_every_shard_in_key_order(tmp_path):
    # video vid0 is frames 0, 3, 6, 9: split over two shards and written out of order
    write_input(tmp_path / "in", {"a-000000": [9, 1, 3], "a-000001": [6, 0, 4]})
    summary = run_stage(TagVideos(TagConfig()), tmp_path / "in", tmp_path / "out", progress=False)
    assert summary.tasks == 2 and summary.done == 2  # vid0 (with both shards' pairs) and vid1
    assert sorted(p.name for p in shard_paths(tmp_path / "out")) == [
        "tagvideos-vid0-000000.tar", "tagvideos-vid1-000000.tar"]
    vid0 = [s for s in iter_shard(tmp_path / "out" / "tagvideos-vid0-000000.tar")]
    frames = [s for s in vid0 if s.kind == "frame"]
    assert [s.record["frame_index"] for s in frames] == [0, 3, 6, 9]  # every frame of the video, in key order
    assert [s.record["description"] for s in frames] == ["seen 0", "seen 1", "seen 2", "seen 3"]
    pairs = [s for s in out_samples(tmp_path / "out") if s.kind == "pair"]
    assert [s.key for s in vid0 if s.kind == "pair"] == ["paira000000", "paira000001"]  # with their video
    assert all(p.record == shard_pair([9, 1, 3]) for p in pairs)  # other kinds pass through unchanged


def test_a_sample_without_a_video_id_stops_video_tasks(tmp_path):
    import webdataset as wds

    record = dict(pair_record(0))
    del record["video_id"]  # not a valid record: a shard not written by this project
    (tmp_path / "in").mkdir()
    with wds.TarWriter(str(tmp_path / "in" / "privacy-x.tar")) as tar:
        tar.write({"__key__": "pair0", "json": json.dumps(record).encode()})
    with pytest.raises(InputError, match="privacy-x.tar: samples without a video_id"):
        run_stage(TagVideos(TagConfig()), tmp_path / "in", tmp_path / "out", progress=False)


def test_shard_tasks_keep_the_input_shard_names(tmp_path):
    write_input(tmp_path / "in", {"ep01-000000": [0, 3], "ep01-000001": [6]}, stage="privacy")
    run_stage(TagShards(TagConfig()), tmp_path / "in", tmp_path / "one", progress=False)
    run_stage(TagShards(TagConfig(word="again")), tmp_path / "one", tmp_path / "two", progress=False)
    assert sorted(p.name for p in shard_paths(tmp_path / "two")) == ["tagshards-ep01-000000.tar",
                                                                       "tagshards-ep01-000001.tar"]
    assert sorted(p.name for p in (tmp_path / "two" / "_tasks").glob("*.json")) == ["ep01-000000.json",
                                                                                   "ep01-000001.json"]


def test_resume_skips_the_same_work_and_refuses_other_settings(tmp_path, capsys):
    write_input(tmp_path / "in", {"a-000000": [0, 1, 2]})
    out = tmp_path / "out"
    run_stage(TagVideos(TagConfig()), tmp_path / "in", out, progress=False)
    markers = {p.name: p.read_text() for p in (out / "_tasks").glob("*.json")}
    marker = json.loads((out / "_tasks" / "vid0.json").read_text())
    assert marker["fingerprint"]["settings_sha"] == settings_sha(TagConfig())
    assert marker["fingerprint"]["version"] == "1"
    assert [i["name"] for i in marker["fingerprint"]["inputs"]] == ["privacy-a-000000.tar"]

    # the same settings, code and input: every task is skipped, nothing is rewritten
    run_stage(TagVideos(TagConfig(workers=7)), tmp_path / "in", out, progress=False)  # operational: same output
    assert {p.name: p.read_text() for p in (out / "_tasks").glob("*.json")} == markers

    # other settings: refused before any work, naming the setting, exit status 2 from the command
    with pytest.raises(ResumeError, match=r"word: 'seen' -> 'other'"):
        run_stage(TagVideos(TagConfig(word="other")), tmp_path / "in", out, progress=False)
    assert stage_main(TagVideos, [str(tmp_path / "in"), str(out), "--set", "word=other", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "word: 'seen' -> 'other'" in err and "--overwrite" in err
    assert [s.record["description"] for s in out_samples(out) if s.kind == "frame"][0] == "seen 0"

    # --overwrite redoes them with the new settings
    assert stage_main(TagVideos, [str(tmp_path / "in"), str(out), "--set", "word=other", "--overwrite",
                                  "--no-progress"]) == 0
    assert {s.record["description"].split()[0] for s in out_samples(out) if s.kind == "frame"} == {"other"}


def test_resume_refuses_a_changed_or_vanished_input(tmp_path):
    write_input(tmp_path / "in", {"a-000000": [0], "a-000001": [3]})
    out = tmp_path / "out"
    run_stage(TagShards(TagConfig()), tmp_path / "in", out, progress=False)
    shard = tmp_path / "in" / "privacy-a-000001.tar"
    later = shard.stat().st_mtime_ns + 5_000_000_000
    os.utime(shard, ns=(later, later))  # the previous stage wrote it again
    with pytest.raises(ResumeError, match=r"input privacy-a-000001.tar \(changed\)"):
        run_stage(TagShards(TagConfig()), tmp_path / "in", out, progress=False)
    run_stage(TagShards(TagConfig()), tmp_path / "in", out, progress=False, overwrite=True)
    (tmp_path / "in" / "privacy-a-000000.tar").unlink()
    with pytest.raises(ResumeError, match=r"1 task\(s\) no longer in the input \(a-000000\)"):
        run_stage(TagShards(TagConfig()), tmp_path / "in", out, progress=False)
    summary = run_stage(TagShards(TagConfig()), tmp_path / "in", out, progress=False, overwrite=True)
    assert summary.tasks == 1 and [p.name for p in shard_paths(out)] == ["tagshards-a-000001.tar"]
    assert not (out / "_tasks" / "a-000000.json").exists()


def test_a_new_code_version_is_a_change(tmp_path):
    write_input(tmp_path / "in", {"a-000000": [0]})
    run_stage(TagShards(TagConfig()), tmp_path / "in", tmp_path / "out", progress=False)

    class Newer(TagShards):
        code_version = "2"

    with pytest.raises(ResumeError, match="code/prompt version 1 -> 2"):
        run_stage(Newer(TagConfig()), tmp_path / "in", tmp_path / "out", progress=False)


def test_failed_tasks_are_retried_with_any_settings(tmp_path):
    write_input(tmp_path / "in", {"a-000000": [0], "a-000001": [3]})

    class Failing(TagShards):
        def frames(self, batch, writer, quarantine):
            if self.config.word == "boom":
                raise RuntimeError("model unreachable")
            return super().frames(batch, writer, quarantine)

    summary = run_stage(Failing(TagConfig(word="boom")), tmp_path / "in", tmp_path / "out", progress=False)
    assert summary.failed == 2 and not shard_paths(tmp_path / "out")
    errors = [json.loads(l) for l in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert [e["reason"] for e in errors] == ["error", "error"]
    summary = run_stage(Failing(TagConfig()), tmp_path / "in", tmp_path / "out", progress=False)
    assert summary.done == 2 and summary.failed == 0
    assert (tmp_path / "out" / "quarantine.jsonl").read_text() == ""  # the old failures went with their tasks


def test_a_video_task_knows_its_video_file(repo, tmp_path):
    """The keyframes stage's tasks are video files: a rewritten video (size or mtime) is a changed input."""
    import shutil

    from annotate.keyframes import KeyframesConfig, KeyframesStage

    video = tmp_path / "videos" / "clip.mp4"
    video.parent.mkdir()
    shutil.copyfile(repo / "samples" / "bigbuckbunny.mp4", video)
    config = KeyframesConfig(shots_model="none", every_s=5)
    run_stage(KeyframesStage(config), video.parent, tmp_path / "out", progress=False)
    assert run_stage(KeyframesStage(config), video.parent, tmp_path / "out", progress=False).done == 1
    later = video.stat().st_mtime_ns + 5_000_000_000
    os.utime(video, ns=(later, later))
    with pytest.raises(ResumeError, match=r"input clip.mp4 \(changed\)"):
        run_stage(KeyframesStage(config), video.parent, tmp_path / "out", progress=False)


class CharacterVideos(TagMixin, FrameStage, VideoStage[TagConfig]):
    """Writes a character file per video, as the calibrate stage does."""

    name = "charactervideos"
    writes = (CHARACTERS_FILE,)

    def begin(self, task, writer) -> None:
        super().begin(task, writer)
        if task.name.startswith("vid"):
            CHARACTERS_FILE.write(writer.folder, characters_file_record(task.name, characters=3))


def test_per_video_files_are_carried_and_a_stage_keeps_its_own(tmp_path):
    write_input(tmp_path / "in", {"a-000000": [0, 1, 2]})
    SHOTS_FILE.write(tmp_path / "in", shots_file_record("vid0"))
    CHARACTERS_FILE.write(tmp_path / "in", characters_file_record("vid0", characters=1))  # an older run's
    CHARACTERS_FILE.write(tmp_path / "in", characters_file_record("gone", characters=1))
    run_stage(CharacterVideos(TagConfig()), tmp_path / "in", tmp_path / "mid", progress=False)
    assert SHOTS_FILE.find(tmp_path / "mid", "vid0") == shots_file_record("vid0")  # carried
    assert len(CHARACTERS_FILE.find(tmp_path / "mid", "vid0")["characters"]) == 3  # its own, not the input's
    assert CHARACTERS_FILE.find(tmp_path / "mid", "gone") is None
    run_stage(TagVideos(TagConfig()), tmp_path / "mid", tmp_path / "next", progress=False)
    assert len(CHARACTERS_FILE.find(tmp_path / "next", "vid0")["characters"]) == 3  # carried down the chain
    assert SHOTS_FILE.find(tmp_path / "next", "vid0") is not None
    # a redone task rewrites its file; a task whose video is gone takes its file with it
    write_input(tmp_path / "in2", {"a-000000": [1]})
    run_stage(CharacterVideos(TagConfig()), tmp_path / "in2", tmp_path / "mid", progress=False, overwrite=True)
    assert CHARACTERS_FILE.find(tmp_path / "mid", "vid0") is None
    assert CHARACTERS_FILE.find(tmp_path / "mid", "vid1") is not None


def test_progress_counts_every_process_markers(tmp_path):
    """The main process's bar counts the tasks finished by any process (their markers), beside the skipped ones;
    a marker left by an earlier run counts only once everything is done."""
    import io
    import os
    import time

    from annotate.runner import StageProgress, Task

    markers = tmp_path / "_tasks"
    markers.mkdir()
    (markers / "old.json").write_text("{}")
    os.utime(markers / "old.json", (time.time() - 60, time.time() - 60))
    tasks = [Task(name, None, name) for name in ("old", "a", "b", "c")]
    progress = StageProgress("stage", tasks, markers, skipped=1, enabled=True, interval_s=0.05)
    progress.bar.fp = io.StringIO()
    with progress:
        assert progress.finished() == 1
        (markers / "a.json").write_text("{}")  # another process finished a task
        (markers / "a.quarantine.jsonl").write_text("")  # not a marker
        (markers / "zzz.json").write_text("{}")  # not a task of this stage
        deadline = time.monotonic() + 5
        while progress.bar.n < 2:
            assert time.monotonic() < deadline, "the bar never counted the other process's task"
            time.sleep(0.02)
        (markers / "b.json").write_text("{}")
        (markers / "c.json").write_text("{}")
    assert progress.bar.n == 4 and progress.bar.total == 4
