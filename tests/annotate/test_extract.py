"""The extraction stage: the heuristic baseline, and the openai backend against a real local server."""

from __future__ import annotations

import json

import pytest
from chat_server import ChatServer, Reply, official_answer

from annotate.extract import ExtractConfig, ExtractStage, main
from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.privacy import PrivacyConfig, PrivacyStage
from annotate.runner import run_stage
from builder.shards import iter_shard, shard_paths
from builder.validation import check_sample


@pytest.fixture(scope="module")
def privacy_out(repo, tmp_path_factory):
    """The bundled clip through keyframes (one per second, at 640x360: the detectors' time goes with the pixels)
    and privacy: five frames with raw.jpg and jpg."""
    root = tmp_path_factory.mktemp("extract")
    run_stage(KeyframesStage(KeyframesConfig(every_s=1.0, max_side=640)), repo / "samples" / "bigbuckbunny.mp4",
              root / "kf", progress=False)
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=0)), root / "kf", root / "privacy", progress=False)
    return root / "privacy"


def frames(folder) -> list:
    return [s for p in shard_paths(folder) for s in iter_shard(p) if s.kind == "frame"]


def test_heuristic_fills_only_what_it_measures(privacy_out, tmp_path):
    assert main([str(privacy_out), str(tmp_path / "out"), "--no-progress"]) == 0
    before = {s.key: s for s in frames(privacy_out)}
    after = frames(tmp_path / "out")
    assert len(after) == len(before) == 5
    for sample in after:
        record = sample.record
        assert check_sample(sample) == [] and "answer.txt" not in sample.members
        assert record["extraction"] == {"outcome": "heuristic", "request_id": None, "index": None, "image": None}
        assert record["provenance"][-1]["stage"] == "extract" and record["provenance"][-1]["model"] == "heuristic-v1"
        assert record["scene"]["time_of_day"] == "DAY" and record["scene"]["number"] == 0  # one shot, daylight
        assert record["description"] is None and record["objects"] == []
        faces = [f["bbox"] for f in before[sample.key].record["privacy"]["faces"]
                 if f["origin"] == "keyframe" and f["score"] >= 0.5]
        assert len(record["people"]) <= len(faces)
        for person in record["people"]:
            assert person["face"]["bbox"] in faces and person["shot_type"] is not None
            assert person["age"] is None and person["emotion"] is None and person["vad"] is None


def make_server(log):
    def answer(request: dict, attempt: int) -> Reply:
        user = request["messages"][-1]["content"]
        images = [part for part in user if part["type"] == "image_url"]
        log.append(len(images))
        return Reply(official_answer(len(images)))
    return ChatServer(answer)


@pytest.mark.parametrize("per_request", [1, 3])
def test_openai_backend_stores_raw_answers_and_caches(privacy_out, tmp_path, monkeypatch, per_request):
    monkeypatch.setenv("SKYSCRIPT_TEST_KEY", "sk-secret-value-123")
    images_seen: list[int] = []
    with make_server(images_seen) as server:
        options = ["--backend", "openai", "--endpoint", server.endpoint, "--model", "internvl2-test",
                   "--api-key-env", "SKYSCRIPT_TEST_KEY", "--images-per-request", str(per_request), "--no-progress"]
        assert main([str(privacy_out), str(tmp_path / "out"), *options]) == 0
        assert sorted(images_seen) == ([1] * 5 if per_request == 1 else [2, 3])
        request = server.requests[0]
        assert request["model"] == "internvl2-test" and request["temperature"] == 0.0
        assert request["messages"][0]["content"].startswith("Your task is to analyze multiple images")
        assert request["messages"][1]["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
        assert server.headers[0]["Authorization"] == "Bearer sk-secret-value-123"
        out = frames(tmp_path / "out")
        for k, sample in enumerate(out):
            assert check_sample(sample) == []
            extraction = sample.record["extraction"]
            assert extraction["outcome"] is None and extraction["index"] == k % per_request
            answer = json.loads(sample.members["answer.txt"])
            assert (answer if per_request == 1 else answer[extraction["index"]])["Scene Description"]
            assert sample.record["provenance"][-1]["model"] == "internvl2-test"
            assert sample.record["provenance"][-1]["prompt_sha"]
        calls = len(server.requests)
        # a rerun into another folder with the same cache pays for nothing
        cache = tmp_path / "out" / "_cache" / "responses.sqlite"
        assert main([str(privacy_out), str(tmp_path / "again"), *options, "--set", f"cache={cache}"]) == 0
        assert len(server.requests) == calls
        assert [s.members["answer.txt"] for s in frames(tmp_path / "again")] == [s.members["answer.txt"] for s in out]
    leaked = [p for p in (tmp_path).rglob("*") if p.is_file() and b"sk-secret-value-123" in p.read_bytes()]
    assert not leaked, leaked


def test_retries_then_failure_fails_the_task_and_resume_completes(privacy_out, tmp_path):
    def flaky(request: dict, attempt: int) -> Reply:
        if attempt == 1:
            return Reply(status=500)
        if attempt == 2:
            return Reply(raw_body=b"<html>bad gateway</html>")
        if attempt == 3:
            return Reply(status=429)
        return Reply(official_answer(1))
    with ChatServer(flaky) as server:
        args = [str(privacy_out), str(tmp_path / "out"), "--backend", "openai", "--endpoint", server.endpoint,
                "--model", "m", "--set", "retries=1", "--no-progress"]
        assert main(args) == 1  # two attempts are not enough: the task fails, nothing is written for it
        assert json.loads((tmp_path / "out" / "extract.stats.json").read_text())["failed"] == 1
        assert not frames(tmp_path / "out")
        args[-2:-1] = ["retries=4"]
        assert main(args) == 0
        assert len(frames(tmp_path / "out")) == 5


def test_slow_answers_time_out_and_are_retried(privacy_out, tmp_path):
    def slow_first(request: dict, attempt: int) -> Reply:
        return Reply(official_answer(1), delay_s=2.0 if attempt == 1 else 0.0)
    with ChatServer(slow_first) as server:
        stage = ExtractStage(ExtractConfig(backend="openai", endpoint=server.endpoint, model="m", timeout_s=0.5,
                                           retries=2, concurrency=8))
        summary = run_stage(stage, privacy_out, tmp_path / "out", progress=False)
        assert summary.failed == 0 and summary.written == 5
        assert len(server.requests) == 10  # each request once too slow, then answered


def test_missing_settings_are_usage_errors(privacy_out, tmp_path, capsys):
    assert main([str(privacy_out), str(tmp_path / "o"), "--backend", "openai", "--model", "m"]) == 2
    assert "endpoint" in capsys.readouterr().err
    assert main([str(privacy_out), str(tmp_path / "o"), "--backend", "transformers"]) == 2
    assert "model" in capsys.readouterr().err


def test_transformers_backend_with_a_tiny_model(privacy_out, tiny_models, tmp_path):
    """The real loading and generation code on a tiny random Llava: answers are stored, then cached."""
    config = ExtractConfig(backend="transformers", model=str(tiny_models["llava"]), images_per_request=2,
                           max_new_tokens=12, device="cpu", cache=str(tmp_path / "responses.sqlite"))
    stage = ExtractStage(config)
    summary = run_stage(stage, privacy_out, tmp_path / "out", progress=False)
    assert summary.written == 5 and summary.failed == 0
    assert stage._cached_client.calls == 3  # 5 images, 2 per request
    out = frames(tmp_path / "out")
    assert [s.record["extraction"]["index"] for s in out] == [0, 1, 0, 1, 0]
    assert all(s.members["answer.txt"] for s in out)  # a random model's text, kept for the repair stage
    assert {s.record["provenance"][-1]["model"] for s in out} == {str(tiny_models["llava"])}
    again = ExtractStage(config)
    run_stage(again, privacy_out, tmp_path / "again", progress=False)
    assert again._cached_client.calls == 0  # a rerun with the same cache asks the model nothing


def test_stage_summaries_reach_the_card(privacy_out, tmp_path):
    """Each stage carries the summaries before it; publish puts them in pipeline.json and the card shows them."""
    from builder.publish import publish

    assert main([str(privacy_out), str(tmp_path / "extract"), "--no-progress"]) == 0
    assert sorted(p.name for p in (tmp_path / "extract").glob("*.stats.json") if "-" not in p.name) == \
        ["extract.stats.json", "keyframes.stats.json", "privacy.stats.json"]
    publish(tmp_path / "extract", tmp_path / "ds", progress=False)
    stages = [s["stage"] for s in json.loads((tmp_path / "ds" / "pipeline.json").read_text())]
    assert stages == ["keyframes", "privacy", "extract"]
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "| privacy | faces_on_keyframe |" in card and "| extract | people |" in card


def faces_shard(folder, faces_by_frame: list[list[dict]], shots: list[int], name: str = "vid-000000",
                colours: list[tuple[int, int, int]] | None = None) -> None:
    """Frames of video ``vid`` whose privacy record holds the given faces; ``colours`` paints each frame."""
    import hashlib
    import io

    from PIL import Image

    from builder.contract import blank
    from builder.sample import Sample
    from builder.shards import Quarantine, ShardWriter

    with ShardWriter(folder, f"privacy-{name}", Quarantine(folder / "q.jsonl", "t"), single=True) as writer:
        for k, (faces, shot) in enumerate(zip(faces_by_frame, shots)):
            buffer = io.BytesIO()
            Image.new("RGB", (160, 90), colours[k] if colours else (200, 180, 160)).save(buffer, format="JPEG")
            jpg = buffer.getvalue()
            record = blank("frame")
            frame_index = int(name.split("-")[-1]) * 100 + k
            record.update(video_id="vid", shot_index=shot, frame_index=frame_index, width=160, height=90,
                          privacy={"faces": faces, "texts": [], "detectors": ["centerface@0.2"],
                                   "audit": {"passed": True, "rounds": 0},
                                   "temporal": {"status": "searched", "reason": None},
                                   "jpg_sha256": hashlib.sha256(jpg).hexdigest()})
            assert writer.write(Sample(f"vid_{shot:04d}_{frame_index:07d}", record, {"raw.jpg": jpg, "jpg": jpg}))


def test_heuristic_invents_no_people(tmp_path):
    """Only faces found on the keyframe itself, with a score of at least person_min_score, become people."""
    neighbour = {"bbox": [10.0, 10.0, 40.0, 50.0], "score": 0.9, "origin": "neighbour"}
    weak = {"bbox": [60.0, 10.0, 90.0, 50.0], "score": 0.3, "origin": "keyframe"}
    strong = {"bbox": [100.0, 10.0, 130.0, 50.0], "score": 0.8, "origin": "keyframe"}
    faces_shard(tmp_path / "in", [[neighbour], [weak], [strong, neighbour]], shots=[0, 1, 2])
    run_stage(ExtractStage(ExtractConfig()), tmp_path / "in", tmp_path / "out", progress=False)
    people = [[p["face"]["bbox"] for p in s.record["people"]] for s in frames(tmp_path / "out")]
    assert people == [[], [], [strong["bbox"]]]
    assert all(s.record["extraction"]["outcome"] == "heuristic" for s in frames(tmp_path / "out"))
    run_stage(ExtractStage(ExtractConfig(person_min_score=0.2)), tmp_path / "in", tmp_path / "low", progress=False)
    assert [len(s.record["people"]) for s in frames(tmp_path / "low")] == [0, 1, 1]


def test_heuristic_scene_numbers_count_per_video_across_shards(tmp_path):
    """One video in two shards: the scene count goes on in the second shard instead of starting again."""
    dark, light = (20, 20, 90), (240, 230, 40)
    faces_shard(tmp_path / "in", [[], []], shots=[0, 1], name="vid-000000", colours=[dark, light])
    faces_shard(tmp_path / "in", [[], []], shots=[2, 3], name="vid-000001", colours=[dark, light])
    run_stage(ExtractStage(ExtractConfig()), tmp_path / "in", tmp_path / "out", progress=False)
    assert [s.record["scene"]["number"] for s in frames(tmp_path / "out")] == [0, 1, 2, 3]


def test_a_heuristic_output_refuses_an_openai_rerun(privacy_out, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(privacy_out), str(out), "--no-progress"]) == 0
    with make_server([]) as server:
        assert main([str(privacy_out), str(out), "--backend", "openai", "--endpoint", server.endpoint, "--model", "m",
                     "--no-progress"]) == 2
        assert not server.requests
        err = capsys.readouterr().err
        assert "backend: 'heuristic' -> 'openai'" in err and "--overwrite" in err
        assert main([str(privacy_out), str(out), "--backend", "openai", "--endpoint", server.endpoint, "--model", "m",
                     "--overwrite", "--no-progress"]) == 0
        assert len(server.requests) == 5
    assert {s.record["extraction"]["outcome"] for s in frames(out)} == {None}  # model answers, for repair


def sent_images(request: dict) -> list[bytes]:
    import base64

    parts = request["messages"][-1]["content"]
    return [base64.b64decode(p["image_url"]["url"].split(",", 1)[1]) for p in parts if p["type"] == "image_url"]


def test_a_remote_endpoint_gets_pixelated_images_unless_told(privacy_out, tmp_path):
    """An endpoint off this machine (a server in a network namespace of its own) sees the pixelated jpg; raw.jpg
    goes there only with --send-raw-images. Loopback gets raw.jpg by default (the other tests)."""
    from netns_server import remote_chat_server

    by_key = {s.key: s for s in frames(privacy_out)}
    with remote_chat_server(official_answer(1)) as server:
        base = [str(privacy_out), "--backend", "openai", "--endpoint", server.endpoint, "--model", "m",
                "--set", "retries=0", "--no-progress"]
        assert main([base[0], str(tmp_path / "default"), *base[1:]]) == 0
        sent = [image for request in server.requests() for image in sent_images(request)]
        assert sorted(sent) == sorted(s.members["jpg"] for s in by_key.values())
        assert not set(sent) & {s.members["raw.jpg"] for s in by_key.values()}
        assert {s.record["extraction"]["image"] for s in frames(tmp_path / "default")} == {"pixelated"}
        assert main([base[0], str(tmp_path / "raw"), *base[1:], "--send-raw-images"]) == 0
        sent = [image for request in server.requests()[5:] for image in sent_images(request)]
        assert sorted(sent) == sorted(s.members["raw.jpg"] for s in by_key.values())
        assert {s.record["extraction"]["image"] for s in frames(tmp_path / "raw")} == {"raw"}
