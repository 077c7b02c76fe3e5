"""The extraction stage: the heuristic baseline, and the openai backend against a real local server."""

from __future__ import annotations

import json

import pytest
from chat_server import ChatServer, Reply, official_answer

from annotate.extract import ExtractConfig, ExtractStage, main, shot_type_of_face
from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.privacy import PrivacyConfig, PrivacyStage
from annotate.runner import run_stage
from builder.shards import iter_shard, shard_paths
from builder.validation import check_sample


@pytest.fixture(scope="module")
def privacy_out(repo, tmp_path_factory):
    """The bundled clip through keyframes (one per second) and privacy: five frames with raw.jpg and jpg."""
    root = tmp_path_factory.mktemp("extract")
    run_stage(KeyframesStage(KeyframesConfig(every_s=1.0)), repo / "samples" / "bigbuckbunny.mp4", root / "kf",
              progress=False)
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=0)), root / "kf", root / "privacy", progress=False)
    return root / "privacy"


def frames(folder) -> list:
    return [s for p in shard_paths(folder) for s in iter_shard(p) if s.kind == "frame"]


def test_shot_type_from_face_height():
    assert [shot_type_of_face(h, 100) for h in (90, 50, 20, 10, 3)] == \
           ["extreme_close_up", "close_up", "medium", "full", "wide"]


def test_heuristic_fills_only_what_it_measures(privacy_out, tmp_path):
    assert main([str(privacy_out), str(tmp_path / "out"), "--no-progress"]) == 0
    before = {s.key: s for s in frames(privacy_out)}
    after = frames(tmp_path / "out")
    assert len(after) == len(before) == 5
    for sample in after:
        record = sample.record
        assert check_sample(sample) == [] and "answer.txt" not in sample.members
        assert record["extraction"] == {"outcome": "direct", "request_id": None, "index": None}
        assert record["provenance"][-1]["stage"] == "extract" and record["provenance"][-1]["model"] == "heuristic-v1"
        assert record["scene"]["time_of_day"] == "DAY" and record["scene"]["number"] == 0  # one shot, daylight
        assert record["description"] is None and record["objects"] == []
        faces = [f["bbox"] for f in before[sample.key].record["privacy"]["faces"]]
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
