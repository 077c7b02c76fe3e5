"""``skyscript run`` / ``accelerate launch -m annotate.run``: every stage, then the dataset folder; two processes
split every stage's tasks, and a killed two-process run resumes to the same folder, byte for byte, as an
uninterrupted one-process run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from factories import tamper_first_frame
from fake_hub import REPO
from videos import read_audio, read_frames, write_video_with_audio

from annotate.config import ConfigError
from annotate.run import counts_table, load_run_config, main, parse_stages
from builder.card import check_card
from builder.contract import STAGES
from builder.hub import HubError, local_files, push, verify
from builder.shards import iter_shard

DEMO = Path(os.environ.get("RUN_TEST_CONFIG", Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"))


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory) -> Path:
    """Three 2-second clips of the music video, with their sound (three, so that two processes split the tasks
    unevenly; short, as every frame passes each stage's models)."""
    folder = tmp_path_factory.mktemp("clips")
    source = shared_data / "transnetv2-test.mp4"
    for i, start in enumerate((459, 3386, 4037)):
        write_video_with_audio(folder / f"c{i}.mp4", read_frames(source, start, start + 50),
                               read_audio(source, start / 25, (start + 50) / 25))
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(repo: Path, clips: Path, out: Path, processes: int) -> subprocess.Popen:
    """The run as a user starts it, in a process group of its own (so the whole group can be killed)."""
    args = [str(clips), str(out), "--config", str(DEMO), "--no-progress"]
    if processes > 1:
        accelerate = str(Path(sys.executable).with_name("accelerate"))
        command = [accelerate, "launch", "--multi_gpu", "--num_processes", str(processes),
                   "--main_process_port", str(free_port()), "-m", "annotate.run", *args]
    else:  # the console script, as a user types it
        command = [str(Path(sys.executable).with_name("skyscript")), "run", *args]
    return subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    return stdout


def running(out: Path) -> list[int]:
    """Processes whose command line names ``out``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(out).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile
            pass
    return found


def dataset_files(folder: Path) -> dict[str, bytes | dict]:
    """Every file's bytes; a shard's stats without the seconds it took to write."""
    return {str(p.relative_to(folder)): ({k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
                                         if p.name.endswith(".stats.json") else p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def markers(out: Path) -> dict[str, dict]:
    return {str(p.relative_to(out)): json.loads(p.read_text()) for p in sorted((out / "work").glob("*/_tasks/*.json"))}


@pytest.fixture(scope="module")
def one_process(clips, tmp_path_factory, repo) -> tuple[Path, str]:
    """``skyscript run`` on the clips with configs/demo.yaml, uninterrupted, in one process: OUT and its stdout."""
    out = tmp_path_factory.mktemp("one")
    return out, finish(launch(repo, clips, out, 1))


@pytest.mark.slow
def test_killed_two_process_run_resumes_to_the_same_dataset(clips, one_process, tmp_path, repo):
    killed = launch(repo, clips, tmp_path / "killed", 2)
    calibrate = tmp_path / "killed" / "work" / "calibrate" / "_tasks"
    deadline = time.monotonic() + 300
    while not (calibrate.is_dir() and any(calibrate.glob("*.json"))):
        assert killed.poll() is None, killed.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the run never reached the calibrate stage"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    # the workers run in sessions of their own: they must notice their launcher is gone and stop by themselves
    deadline = time.monotonic() + 20
    while running(tmp_path / "killed"):
        assert time.monotonic() < deadline, "workers kept running after their launcher was killed"
        time.sleep(0.1)
    assert not (tmp_path / "killed" / "skyscript-100m").exists(), "killed too late: the run had finished"
    before = markers(tmp_path / "killed")
    assert before and len(before) < 3 * len(STAGES)
    finish(launch(repo, clips, tmp_path / "killed", 2))

    after = markers(tmp_path / "killed")
    assert len(after) == 3 * len(STAGES)
    done_before = {name: m for name, m in before.items() if m["status"] == "done"}
    assert done_before and all(after[name] == m for name, m in done_before.items()), "finished tasks were redone"
    assert {m["process"] for m in after.values()} == {0, 1}

    # the same folder as the uninterrupted one-process run (the output does not depend on the number of processes)
    reference = dataset_files(one_process[0] / "skyscript-100m")
    assert dataset_files(tmp_path / "killed" / "skyscript-100m") == reference
    for config in ("frames", "shooting_scripts", "highlight_curves", "pairs"):
        keys = [s.key for shard in sorted((tmp_path / "killed" / "skyscript-100m" / config).glob("*.tar"))
                for s in iter_shard(shard)]
        assert keys and len(keys) == len(set(keys)), config


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # huggingface_hub's LFS upload
def test_the_run_ends_with_what_it_made_and_its_folder_goes_to_the_hub(one_process, hub, tmp_path):
    """The table, the configs as load_dataset gives them, the card and the pictures; the card validates with real
    counts; push and verify against the fake Hub; verify fails on a tampered shard."""
    out, printed = one_process
    assert "stage      tasks  failed  written  quarantined" in printed
    for config in ("frames", "shooting_scripts", "highlight_curves", "pairs"):
        assert f'load_dataset("{out / "skyscript-100m"}", "{config}", split="train")' in printed
    assert f"card: {out / 'skyscript-100m' / 'README.md'}" in printed
    for picture in ("pictures/c0.contact.png", "work/highlight/plots/c0.png"):
        assert f"picture: {out / picture}" in printed and (out / picture).stat().st_size
    folder = Path(shutil.copytree(out / "skyscript-100m", tmp_path / "skyscript-100m"))
    metadata = check_card(folder)
    frames = sum(1 for shard in (folder / "frames").glob("*.tar") for _ in iter_shard(shard))
    [info] = [i for i in metadata["dataset_info"] if i["config_name"] == "frames"]
    assert frames and info["splits"][0]["num_examples"] == frames
    assert f"| `frames` | {frames} | 1 |" in (folder / "README.md").read_text()

    report = push(folder, REPO, progress=False)
    assert report.uploaded == len(local_files(folder)) and report.commits >= 1
    assert verify(REPO).ok and verify(folder).ok
    shard = folder / "frames" / "frames-000000.tar"
    key = tamper_first_frame(shard)
    with pytest.raises(HubError, match=f"not a valid dataset folder .*{key}: privacy"):
        push(folder, REPO, progress=False)
    hub.write(REPO, "frames/frames-000000.tar", shard.read_bytes())  # as if someone changed the repo
    for tampered in (verify(REPO), verify(folder)):
        assert not tampered.ok and any(key in error and "privacy" in error for error in tampered.errors)


def test_changed_settings_stop_the_rerun_before_any_work(tmp_path, capsys):
    """A finished keyframes task made with other settings stops the whole run (exit 2) and names the change;
    the later stages' folders are not touched."""
    out = tmp_path / "out"
    tasks = out / "work" / "keyframes" / "_tasks"
    tasks.mkdir(parents=True)
    settings = load_run_config(DEMO).settings["keyframes"]
    from annotate.runner import Task, fingerprint
    from annotate.keyframes import KeyframesStage

    stage = KeyframesStage(settings)
    marker = {"task": "v", "status": "done", "fingerprint": {**fingerprint(stage, Task("v", None, "")),
                                                             "settings_sha": "other", "settings": {"every_s": 2.0}}}
    (tasks / "v.json").write_text(json.dumps(marker))
    videos = tmp_path / "videos"
    videos.mkdir()
    assert main([str(videos), str(out), "--config", str(DEMO), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "every_s: 2.0 -> 1.0" in error and "--overwrite" in error
    assert sorted(p.name for p in (out / "work").iterdir()) == ["keyframes"]


def test_stages_and_overrides():
    assert parse_stages("keyframes,privacy") == ("keyframes", "privacy")
    for bad in ("privacy,keyframes", "keyframes,keyframes", "keyframes,nope", "privacy", ""):
        with pytest.raises(ConfigError):
            parse_stages(bad)
    config = load_run_config(DEMO, ["keyframes.every_s=2", "restore.n=1", "publish.max_count=5",
                                    "stages=keyframes,privacy"])
    assert config.settings["keyframes"].every_s == 2.0 and config.settings["restore"].n == 1
    assert config.publish.max_count == 5 and config.stages == ("keyframes", "privacy")
    for bad in ("every_s=2", "nostage.every_s=2", "keyframes.nope=1", "keyframes.every_s=fast"):
        with pytest.raises(ConfigError):
            load_run_config(DEMO, [bad])


def test_counts_table_lists_quarantine_reasons(tmp_path):
    for name, reasons in (("keyframes", ["blurred", "blurred", "dark"]), ("privacy", [])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.stats.json").write_text(json.dumps(
            {"stage": name, "tasks": 4, "done": 3, "failed": 1, "written": 1234, "quarantined": len(reasons),
             "quarantined_by_reason": dict(Counter(reasons))}))
    table = counts_table(tmp_path, ("keyframes", "privacy")).splitlines()
    assert table[0].split() == ["stage", "tasks", "failed", "written", "quarantined", "quarantined", "by", "reason"]
    assert table[1].split() == ["keyframes", "4", "1", "1,234", "3", "blurred", "2,", "dark", "1"]
    assert table[2].split() == ["privacy", "4", "1", "1,234", "0", "-"]
