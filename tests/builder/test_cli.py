"""Errors read as errors: every command's refusal is one line on stderr with its documented exit status, never a
traceback (through ``builder.cli.main``, and once through the installed ``skyscript`` entry point)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import frame_sample, pair_record

from builder.cli import main
from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter

SKYSCRIPT = Path(sys.executable).with_name("skyscript")


def run(*args: str) -> subprocess.CompletedProcess:
    """The command in this process (an uncaught exception fails the test), its result shaped like a subprocess's."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def test_the_entry_point_prints_one_line(tmp_path):
    result = subprocess.run([str(SKYSCRIPT), "publish", str(tmp_path / "nothing"), str(tmp_path / "ds")],
                            capture_output=True, text=True, timeout=120)
    assert_refused(result, 1, "no .tar shards")


def assert_refused(result: subprocess.CompletedProcess, status: int, *words: str) -> None:
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("skyscript ") and ": error: " in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def stage_folder(folder: Path, failed: int = 0) -> Path:
    """A stage folder as the runner leaves it: shards, a summary and task markers (``failed`` of them failed)."""
    with ShardWriter(folder, "repair-v", Quarantine(folder / "quarantine.jsonl", "t")) as writer:
        for i in range(3):
            assert writer.write(frame_sample(i))
        assert writer.write(Sample("pair0", pair_record(0)))
    (folder / "_tasks").mkdir()
    for k in range(2):
        (folder / "_tasks" / f"t{k}.json").write_text(json.dumps({"status": "failed" if k < failed else "done"}))
    (folder / "repair.stats.json").write_text(json.dumps({
        "stage": "repair", "position": 0, "tasks": 2, "done": 2 - failed, "failed": failed, "written": 4,
        "quarantined": failed, "counts": {}}))
    return folder


def test_publish_refusals(tmp_path):
    assert_refused(run("publish", tmp_path / "nothing", tmp_path / "ds"), 1, "no .tar shards")
    stage_folder(tmp_path / "partial", failed=1)
    assert_refused(run("publish", tmp_path / "partial", tmp_path / "ds"), 1, "failed or unfinished tasks",
                   "repair: 1", "--allow-partial")
    assert not (tmp_path / "ds").exists()


def test_publish_allow_partial_is_stated_in_the_card(tmp_path):
    stage_folder(tmp_path / "partial", failed=1)
    result = run("publish", tmp_path / "partial", tmp_path / "ds", "--allow-partial")
    assert result.returncode == 0, result.stderr
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "**Partial build.** 1 task(s) failed or did not finish (repair: 1)" in card
    stage_folder(tmp_path / "whole")
    publish(tmp_path / "whole", tmp_path / "ds2", progress=False)
    assert "Partial build" not in (tmp_path / "ds2" / "README.md").read_text()


def test_card_validate_show_and_import_refusals(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_refused(run("card", tmp_path / "empty"), 1, "no shards")
    assert_refused(run("show", tmp_path / "empty"), 1, "no config has shards")
    assert_refused(run("import-official", tmp_path / "missing.json", tmp_path / "o.jsonl"), 1, "missing.json")
    (tmp_path / "bad.json").write_text('{"case": ')
    assert_refused(run("import-official", tmp_path / "bad.json", tmp_path / "o.jsonl"), 1, "not a JSON file")
    (tmp_path / "wrong.json").write_text(json.dumps({"case1": {"Scene Description": "x", "Weather": "rain"}}))
    assert_refused(run("import-official", tmp_path / "wrong.json", tmp_path / "o.jsonl"), 1, "case1", "Weather")
    # validate reports problems on stdout (a report, not a refusal) and exits 1
    result = run("validate", tmp_path / "nowhere")
    assert result.returncode == 1 and "Traceback" not in result.stderr and "not a shard" in result.stdout
    assert_refused(run("contact-sheet", tmp_path / "none.json"), 1, "none.json")


@pytest.mark.parametrize("args, status, words", [
    (["--set", "every_s=often"], 2, ["every_s", "not a valid float"]),
    (["--set", "no_such_setting=1"], 2, ["unknown keyframes setting"]),
    (["--set", "shots_model=bogus"], 2, ["shots_model 'bogus'"]),  # found in the stage's setup
    (["--set", "every_s=0"], 2, ["every_s must be above 0"]),
    (["--config", "/nonexistent/config.yaml"], 2, ["--config", "cannot read it"]),
])
def test_stage_setting_refusals(repo, tmp_path, args, status, words):
    assert_refused(run("keyframes", repo / "samples" / "bigbuckbunny.mp4", tmp_path / "out", "--no-progress", *args),
                   status, *words)


def test_stage_input_refusals(tmp_path):
    assert_refused(run("keyframes", tmp_path / "missing.mp4", tmp_path / "out"), 2, "no such file or folder")
    (tmp_path / "empty").mkdir()
    for stage in ("privacy", "extract", "repair", "calibrate", "script"):
        assert_refused(run(stage, tmp_path / "empty", tmp_path / "out"), 2, "no shards")
    assert_refused(run("extract", tmp_path / "empty", tmp_path / "out", "--backend", "gpt"), 2, "no shards")
