"""``skyscript push`` and ``skyscript verify`` against the in-process fake Hub (``tests/fake_hub.py``): commits within
the files-per-commit limit with the card last, a rerun that skips what is there, resume after a failed commit,
pacing, visibility and branch, refusals before any request, the token kept secret; verify of a folder and of a
repo, catching a tampered frame and a wrong count."""

from __future__ import annotations

import json
import logging
import math
import shutil
import socket
from pathlib import Path

import pytest
from factories import tamper_first_frame
from fake_hub import REPO, TOKEN, FakeHub
from huggingface_hub import HfApi, constants
from huggingface_hub.utils import _http
from test_publish import stage_samples, write_stage

from builder.cli import main
from builder.hub import HubError, local_files, push, verify
from builder.publish import publish

# huggingface_hub's own LFS upload passes a file as ``data=`` (httpx2 prefers ``content=``)
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A published dataset folder with all four configs (frames in two shards), built as test_publish builds it."""
    root = tmp_path_factory.mktemp("hub")
    write_stage(root / "stage", stage_samples())
    publish(root / "stage", root / "skyscript-100m", max_count=7, progress=False)
    return root / "skyscript-100m"


@pytest.fixture()
def folder(dataset, tmp_path) -> Path:
    """A copy of the dataset folder that a test may change."""
    return Path(shutil.copytree(dataset, tmp_path / "skyscript-100m"))


def pushed(hub: FakeHub) -> list[list[str]]:
    """The paths of every commit push made, in order."""
    return [list(c.paths) for c in hub.commits if c.message.startswith("skyscript push")]


def assert_same_files(hub: FakeHub, folder: Path, revision: str = "main") -> None:
    remote = hub.files(REPO, revision)
    assert remote.pop(".gitattributes")
    assert remote == {path: (folder / path).read_bytes() for path in local_files(folder)}


def test_the_fake_takes_every_request_and_leaves_no_trace(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    before = _http._GLOBAL_CLIENT_FACTORY
    with FakeHub().installed() as fake:
        assert not HfApi().repo_exists(REPO, repo_type="dataset")
        with pytest.raises(AssertionError, match="only the fake Hub"):
            socket.create_connection(("127.0.0.1", 9))
    assert fake.requests[-1].path == f"/api/datasets/{REPO}"  # (the client may first fetch its agents registry)
    assert _http._GLOBAL_CLIENT_FACTORY is before and not constants.HF_HUB_DISABLE_XET


def test_push_commits_small_batches_card_last_and_a_rerun_sends_nothing(dataset, hub):
    files = local_files(dataset)
    report = push(dataset, REPO, files_per_commit=3, progress=False)
    assert_same_files(hub, dataset)
    commits = pushed(hub)
    assert report.commits == len(commits) == math.ceil(len(files) / 3) and max(map(len, commits)) == 3
    assert [set(commit) for commit in commits] == [set(files[i:i + 3]) for i in range(0, len(files), 3)]
    assert files[0] == "frames/frames-000000.tar" and files[1] == "frames/frames-000000.stats.json"
    assert files[-1] == "README.md" and "README.md" not in sum(commits[:-1], [])
    assert (report.uploaded, report.skipped) == (len(files), 0)
    assert report.bytes_uploaded == sum((dataset / path).stat().st_size for path in files)
    assert report.url == f"https://huggingface.co/datasets/{REPO}" and report.revision == "main"
    stored = hub.repos[REPO].branches["main"]
    assert {path for path, blob in stored.items() if blob.lfs} == {p for p in files if p.endswith(".tar")}
    assert hub.repos[REPO].private is False

    uploads = len(hub.lfs_uploads)
    again = push(dataset, REPO, files_per_commit=3, progress=False)
    assert (again.commits, again.uploaded, again.skipped, again.bytes_uploaded) == (0, 0, len(files), 0)
    assert len(pushed(hub)) == len(commits) and len(hub.lfs_uploads) == uploads


def test_a_failed_commit_is_resumed_sending_only_what_is_missing(dataset, hub):
    files = local_files(dataset)
    hub.fail_commits = {2}
    parts = math.ceil(len(files) / 3)
    with pytest.raises(HubError, match=rf"part 2 of {parts} failed \(Server error '500 .*rerun the same command to "
                                       "resume"):
        push(dataset, REPO, files_per_commit=3, progress=False)
    first = set(hub.files(REPO)) - {".gitattributes"}
    assert first == set(files[:3])
    done = len(pushed(hub))
    report = push(dataset, REPO, files_per_commit=3, progress=False)
    assert (report.skipped, report.uploaded) == (3, len(files) - 3)
    assert sorted(path for commit in pushed(hub)[done:] for path in commit) == sorted(files[3:])
    tars = [path for path in files if path.endswith(".tar")]
    assert sorted(hub.lfs_uploads) == sorted(set(hub.lfs_uploads)) and len(hub.lfs_uploads) == len(tars)
    assert_same_files(hub, dataset)


def test_commits_are_paced_to_the_hourly_limit(dataset, hub, caplog):
    now, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    report = push(dataset, REPO, files_per_commit=2, progress=False, commits_per_hour=2, clock=lambda: now[0],
                  sleep=sleep)
    commits = math.ceil(len(local_files(dataset)) / 2)  # 2 per hour: a wait before the 3rd, 5th, ... commit
    assert report.commits == commits and sleeps == [3600.0] * ((commits - 1) // 2)
    assert "2 commits in the last hour (limit 2): waiting 3600 s" in caplog.text
    assert_same_files(hub, dataset)


def test_private_and_revision_reach_the_hub(dataset, hub, capsys):
    assert main(["push", str(dataset), REPO, "--private", "--revision", "v1"]) == 0
    out = capsys.readouterr().out
    assert f"{len(local_files(dataset))} file(s) uploaded" in out and f"datasets/{REPO} (v1)" in out
    assert hub.repos[REPO].private is True
    assert_same_files(hub, dataset, "v1")
    assert set(hub.files(REPO, "main")) == {".gitattributes"}
    HfApi().create_repo("skyscript/public", repo_type="dataset")
    with pytest.raises(HubError, match="skyscript/public exists and is public"):
        push(dataset, "skyscript/public", private=True, progress=False)
    assert set(hub.files("skyscript/public")) == {".gitattributes"}


def test_push_refuses_an_invalid_folder_before_any_request(folder, hub):
    key = tamper_first_frame(folder / "frames" / "frames-000000.tar")
    with pytest.raises(HubError, match=f"not a valid dataset folder .*{key}: privacy"):
        push(folder, REPO, progress=False)
    card = folder / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("dataset_info:", "dataset_info_gone:"), encoding="utf-8")
    with pytest.raises(HubError, match="config frames has no `dataset_info` entry"):
        push(folder, REPO, progress=False)
    with pytest.raises(HubError, match="no README.md"):
        push(folder / "frames", REPO, progress=False)
    assert hub.requests == []


def test_offline_refuses_push_and_verify_of_a_repo_before_any_request(dataset, hub, monkeypatch, capsys):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set; unset it to push"):
        push(dataset, REPO, progress=False)
    assert main(["verify", REPO]) == 1
    assert "skyscript verify: error: HF_HUB_OFFLINE is set; unset it to verify a Hub repo" in capsys.readouterr().err
    assert hub.requests == []


def test_the_token_is_never_printed_nor_logged(dataset, hub, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    assert main(["push", str(dataset), REPO]) == 0
    assert main(["verify", REPO]) == 0
    out = capsys.readouterr()
    assert hub.tokens == {TOKEN}  # it reached the Hub's API (LFS uploads go to their own URLs, unauthenticated)
    assert all(seen.authorization for seen in hub.requests if seen.path.startswith(f"/api/datasets/{REPO}"))
    assert caplog.records
    for text in (out.out, out.err, caplog.text, *(repr(record.args) for record in caplog.records)):
        assert TOKEN not in text


def test_verify_passes_on_the_folder_and_on_the_hub_streaming_ranges(dataset, hub, capsys):
    local = verify(dataset)
    assert local.ok and local.files == 5 and local.valid["frame"] == 12, local.summary()
    push(dataset, REPO, progress=False)
    assert main(["verify", REPO, "--shards", "2"]) == 0
    assert capsys.readouterr().out.startswith(local.summary().splitlines()[0])
    remote = verify(REPO)
    assert remote.ok and remote.valid == local.valid, remote.summary()
    assert any(seen.range for seen in hub.requests if "/resolve/main/frames/" in seen.path)


def test_verify_names_a_tampered_frame_locally_and_on_the_hub(dataset, folder, hub, capsys):
    push(dataset, REPO, progress=False)
    shard = folder / "frames" / "frames-000000.tar"
    key = tamper_first_frame(shard)
    assert main(["verify", str(folder)]) == 1
    assert f"{shard} {key}: privacy at $.privacy.jpg_sha256: the jpg is not the image" in capsys.readouterr().out
    hub.write(REPO, "frames/frames-000000.tar", shard.read_bytes())
    assert main(["verify", REPO]) == 1
    out = capsys.readouterr().out
    assert f"datasets/{REPO}/frames/frames-000000.tar {key}: privacy at $.privacy.jpg_sha256" in out
    assert "invalid: 1" in out


def test_verify_fails_when_a_stats_count_disagrees(folder):
    stats = folder / "frames" / "frames-000000.stats.json"
    record = json.loads(stats.read_text(encoding="utf-8"))
    stats.write_text(json.dumps({**record, "written": record["written"] + 1}), encoding="utf-8")
    report = verify(folder, shards_per_config=1)
    assert not report.ok
    assert (f"{folder / 'frames' / 'frames-000000.tar'}: 7 sample(s), but its .stats.json says written=8"
            in report.errors)
    card = folder / "README.md"
    assert f"{card}: config frames: dataset_info says 12 example(s), its shards' stats 13" in report.errors
