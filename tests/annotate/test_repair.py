"""The repair stage on a corpus of malformed answers: every one ends in exactly one of the four outcomes."""

from __future__ import annotations

import json

import pytest
from chat_server import ChatServer, Reply, official_answer
from factories import jpeg_bytes

from annotate.repair import RepairConfig, RepairStage, main, parse_local, usable
from annotate.runner import run_stage
from builder.contract import blank
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths
from builder.validation import check_sample

GOOD = json.loads(official_answer(1))
G = json.dumps(GOOD)
DESC = '"Scene Description": "A quiet restaurant"'
PERSON = '{"Type": "person", "Age": "adult", "Gender": "male", "Shot Type": "Medium Shot"}'
DEEP_LIST = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a": ' * 10_000 + "1" + "}" * 10_000
HUGE = json.dumps({"Scene Description": "x" * 10_500_000, "people": [], "objects": []})

# (name, answer, images in the request, index of this image, expected outcome)
CORPUS = [
    ("plain", G, 1, 0, "direct"),
    ("fenced_json", f"```json\n{G}\n```", 1, 0, "direct"),
    ("fenced_plain", f"```\n{G}\n```", 1, 0, "direct"),
    ("surrounding_whitespace", f"\n\n  {G}  \n", 1, 0, "direct"),
    ("numbers_as_strings", '{"Scene Description": "d", "people": [{"Type": "person", "Facial Attractiveness": "3", '
     '"Continuous Emotion": {"Valence (V)": "4", "Arousal (A)": "6", "Dominance (D)": "7"}}]}', 1, 0, "direct"),
    ("shot_type_spellings", '{"objects": [{"Type": "cup", "Shot Type": "Close-up"}, {"Type": "table", '
     '"Shot Type": "close-up shot"}, {"Type": "plant", "Shot Type": "Background"}]}', 1, 0, "direct"),
    ("only_description", "{" + DESC + "}", 1, 0, "direct"),
    ("only_objects", '{"objects": [{"Type": "car"}]}', 1, 0, "direct"),
    ("unicode_values", '{"Scene Description": "餐厅里两个人在吃饭", "people": [' + PERSON + "]}", 1, 0, "direct"),
    ("other_key_spellings", '{"scene description": "d", "PEOPLE": [{"type": "person", "shot type": "Full Shot"}]}',
     1, 0, "direct"),
    ("key_with_spaces", '{" Scene Description ": "d"}', 1, 0, "direct"),
    ("array_index_0", official_answer(3), 3, 0, "direct"),
    ("array_index_1", official_answer(3), 3, 1, "direct"),
    ("array_index_2", official_answer(3), 3, 2, "direct"),
    ("prose_before", f"Sure! Here is the JSON you asked for:\n{G}", 1, 0, "repaired_local"),
    ("prose_after", f"{G}\nLet me know if you need anything else.", 1, 0, "repaired_local"),
    ("prose_both_sides", f"Here you go: {G} Hope this helps.", 1, 0, "repaired_local"),
    ("single_quotes", G.replace('"', "'"), 1, 0, "repaired_local"),
    ("trailing_commas", "{" + DESC + ', "people": [' + PERSON + ",],}", 1, 0, "repaired_local"),
    ("missing_final_brace", G[:-1], 1, 0, "repaired_local"),
    ("truncated_mid_string", G[: G.index("glass of red")], 1, 0, "repaired_local"),
    ("truncated_after_people", "{" + DESC + ', "people": [' + PERSON, 1, 0, "repaired_local"),
    ("unquoted_keys", "{people: [" + PERSON + "], objects: []}", 1, 0, "repaired_local"),
    ("python_literals", "{'Scene Description': 'd', 'people': [], 'objects': None, 'BGM': None}", 1, 0,
     "repaired_local"),
    ("comments", "{\n// the scene\n" + DESC + "}", 1, 0, "repaired_local"),
    ("bom_prefix", "\ufeff" + G, 1, 0, "repaired_local"),
    ("list_for_object", f"[{G}]", 1, 0, "repaired_local"),
    ("unknown_key", '{"Scene Description": "d", "Lighting": "dim"}', 1, 0, "repaired_local"),
    ("chinese_and_english_keys", '{"场景描述": "餐厅", "Scene Description": "d"}', 1, 0, "repaired_local"),
    ("bad_attractiveness", '{"people": [{"Type": "person", "Facial Attractiveness": "very"}]}', 1, 0,
     "repaired_local"),
    ("vad_out_of_range", '{"people": [{"Type": "person", "Continuous Emotion": {"Valence (V)": 12}}]}', 1, 0,
     "repaired_local"),
    ("unknown_shot_type", '{"objects": [{"Type": "cup", "Shot Type": "Dutch Angle"}]}', 1, 0, "repaired_local"),
    ("people_not_a_list", '{"Scene Description": "d", "people": "two women"}', 1, 0, "repaired_local"),
    ("object_without_name", '{"Scene Description": "d", "objects": [{"Description": "round"}]}', 1, 0,
     "repaired_local"),
    ("nested_unknown_key", '{"people": [{"Type": "person", "Hair": "black"}]}', 1, 0, "repaired_local"),
    ("number_item_in_list", '{"objects": [3, {"Type": "cup"}]}', 1, 0, "repaired_local"),
    ("empty", "", 1, 0, "lost"),
    ("whitespace", "   \n ", 1, 0, "lost"),
    ("prose_only", "I'm sorry, but I can't describe people in images.", 1, 0, "lost"),
    ("empty_object", "{}", 1, 0, "lost"),
    ("no_content", '{"people": [], "objects": []}', 1, 0, "lost"),
    ("empty_list", "[]", 1, 0, "lost"),
    ("null", "null", 1, 0, "lost"),
    ("number", "42", 1, 0, "lost"),
    ("string", '"a restaurant"', 1, 0, "lost"),
    ("deep_list", DEEP_LIST, 1, 0, "lost"),
    ("deep_object", DEEP_OBJECT, 1, 0, "lost"),
    ("huge_10mb", HUGE, 1, 0, "lost"),
    ("garbage_10mb", "}{][,:" * 1_800_000, 1, 0, "lost"),
    ("only_chinese_keys", '{"场景描述": "餐厅", "人物": []}', 1, 0, "lost"),
    ("array_too_short", official_answer(2), 3, 2, "lost"),
    ("object_for_three_images", G, 3, 1, "lost"),
    ("html_error_page", "<html><body><h1>502 Bad Gateway</h1></body></html>", 1, 0, "lost"),
    ("many_objects_for_one_image", f"[{G}, {G}]", 1, 0, "lost"),
    ("double_encoded", json.dumps(G), 1, 0, "lost"),
]


def corpus_shard(folder, entries) -> None:
    with ShardWriter(folder, "extract-corpus", Quarantine(folder / "q.jsonl", "t")) as writer:
        for k, (name, answer, count, index, _) in enumerate(entries):
            record = blank("frame")
            record.update(video_id="corpus", shot_index=0, frame_index=k, width=32, height=18,
                          extraction={"outcome": None, "request_id": f"{name}-req", "index": index,
                                          "image": "raw"})
            members = {"raw.jpg": jpeg_bytes(32, 18, seed=k), "answer.txt": answer.encode("utf-8")}
            assert writer.write(Sample(f"{k:03d}_{name}", record, members)), name
            for other in range(count):  # the other images of a multi-image request say how many there were
                if other != index and name.startswith("array"):
                    twin = dict(record, frame_index=1000 + k * 10 + other,
                                extraction={"outcome": None, "request_id": f"{name}-req", "index": other,
                                            "image": "raw"})
                    assert writer.write(Sample(f"{k:03d}_{name}_twin{other}", twin, members)), name


def test_corpus_outcomes(tmp_path):
    assert len(CORPUS) >= 50
    corpus_shard(tmp_path / "in", CORPUS)
    summary = run_stage(RepairStage(RepairConfig()), tmp_path / "in", tmp_path / "out", progress=False)
    assert summary.failed == 0
    written = {s.key: s for p in shard_paths(tmp_path / "out") for s in iter_shard(p)}
    lost = {json.loads(line)["key"]: json.loads(line) for line in
            (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()}
    got = {}
    for k, (name, _, _, _, expected) in enumerate(CORPUS):
        key = f"{k:03d}_{name}"
        assert (key in written) != (key in lost), f"{name}: exactly one of written or quarantined"
        got[name] = written[key].record["extraction"]["outcome"] if key in written else "lost"
    assert got == {name: expected for name, _, _, _, expected in CORPUS}
    for sample in written.values():
        assert check_sample(sample) == []
        assert sample.members["answer.txt"]  # the raw answer stays for audit
        record = sample.record
        assert record["description"] or record["people"] or record["objects"]
        assert all(p["line"] is None for p in record["people"])  # dialogue comes from subtitles, not this model
    deep = lost[f"{[n for n, *_ in CORPUS].index('deep_list'):03d}_deep_list"]
    assert deep["reason"] == "lost" and json.loads(deep["detail"])["answer"].startswith("[[[")
    huge = lost[f"{[n for n, *_ in CORPUS].index('huge_10mb'):03d}_huge_10mb"]
    assert json.loads(huge["detail"])["answer_chars"] > 10_000_000  # counted, not copied whole
    counts = json.loads((tmp_path / "out" / "repair.stats.json").read_text())["counts"]
    inputs = sum(1 for p in shard_paths(tmp_path / "in") for _ in iter_shard(p))
    assert sum(counts[f"outcome_{o}"] for o in ("direct", "repaired_local", "lost")) == inputs
    assert counts["outcome_lost"] == len(lost) and counts["outcome_direct"] + counts["outcome_repaired_local"] == \
        len(written)


def test_values_are_normalized(tmp_path):
    corpus_shard(tmp_path / "in", [CORPUS[4], CORPUS[5]])
    run_stage(RepairStage(RepairConfig()), tmp_path / "in", tmp_path / "out", progress=False)
    [numbers, shots] = [s.record for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]
    assert numbers["people"][0]["attractiveness"] == 3 and numbers["people"][0]["vad"] == \
           {"valence": 4, "arousal": 6, "dominance": 7}
    assert [(o["shot_type"], o["layer"]) for o in shots["objects"]] == \
           [("close_up", None), ("close_up", None), (None, "background")]


def test_minimum_content():
    assert parse_local("I cannot do that.") is None and parse_local("}{") is None
    assert not usable(None) and not usable({"description": " ", "people": [], "objects": []})
    assert usable({"description": "d", "people": [], "objects": []})


def test_llm_step_repairs_what_local_repair_cannot_and_is_cached(tmp_path):
    def table6(request: dict, attempt: int) -> Reply:
        user = request["messages"][-1]["content"]
        assert request["messages"][0]["content"].startswith("You are a JSON validation and correction assistant")
        if "restaurant" in user:  # the model turns the prose into the requested JSON
            return Reply('```json\n{"Scene Description": "A restaurant at night", "people": []}\n```')
        return Reply("I could not find any JSON in this text.")
    entries = [("prose_description", "The image shows a restaurant at night with nobody in it.", 1, 0, None),
               ("hopeless", "¯\\_(ツ)_/¯", 1, 0, None), ("fine", G, 1, 0, None)]
    corpus_shard(tmp_path / "in", entries)
    with ChatServer(table6) as server:
        args = [str(tmp_path / "in"), str(tmp_path / "out"), "--backend", "openai", "--endpoint", server.endpoint,
                "--model", "gpt-4o-test", "--no-progress"]
        assert main(args) == 0
        written = {s.key: s.record for p in shard_paths(tmp_path / "out") for s in iter_shard(p)}
        assert written["000_prose_description"]["extraction"]["outcome"] == "repaired_llm"
        assert written["000_prose_description"]["description"] == "A restaurant at night"
        assert written["000_prose_description"]["provenance"][-1]["model"] == "gpt-4o-test"
        assert written["002_fine"]["extraction"]["outcome"] == "direct"
        assert "001_hopeless" not in written
        assert len(server.requests) == 2  # only the answers local repair could not use
        cache = tmp_path / "out" / "_cache" / "responses.sqlite"
        assert main([str(tmp_path / "in"), str(tmp_path / "again"), *args[2:], "--set", f"cache={cache}"]) == 0
        assert len(server.requests) == 2  # the rerun asked the model nothing


@pytest.mark.parametrize("backend", ["bogus"])
def test_unknown_backend_is_a_usage_error(tmp_path, backend):
    corpus_shard(tmp_path / "in", CORPUS[:1])
    assert main([str(tmp_path / "in"), str(tmp_path / "out"), "--backend", backend]) == 2


def test_transformers_llm_step_with_a_tiny_model(tiny_models, tmp_path):
    """The real Table 6 call through a tiny random Llama: its text is no JSON, so both answers end lost."""
    corpus_shard(tmp_path / "in", [("prose_description", "The image shows a restaurant at night.", 1, 0, None),
                                   ("fine", G, 1, 0, None)])
    stage = RepairStage(RepairConfig(backend="transformers", model=str(tiny_models["llama"]), device="cpu",
                                     max_new_tokens=16))
    summary = run_stage(stage, tmp_path / "in", tmp_path / "out", progress=False)
    assert summary.failed == 0 and summary.written == 1 and summary.quarantined == 1
    assert stage._cached_client.calls == 1
    counts = json.loads((tmp_path / "out" / "repair.stats.json").read_text())["counts"]
    assert counts["outcome_direct"] == 1 and counts["outcome_lost"] == 1 and counts["llm_requests"] == 1


def test_an_unreachable_llm_fails_the_task_and_the_rerun_repairs(tmp_path):
    """A ModelCallError is no loss: the task fails (nothing marked done, nothing lost), the answers the model did
    give stay cached, and the next run retries only what is missing."""
    entries = [("prose_one", "The image shows a restaurant at night.", 1, 0, None),
               ("prose_two", "Two people argue in an office.", 1, 0, None), ("fine", G, 1, 0, None)]
    corpus_shard(tmp_path / "in", entries)
    down = {"office": True}

    def table6(request: dict, attempt: int) -> Reply:
        user = request["messages"][-1]["content"]
        if "office" in user and down["office"]:
            return Reply(status=503)
        return Reply(json.dumps({"Scene Description": "restaurant" if "restaurant" in user else "office",
                                 "people": []}))
    with ChatServer(table6) as server:
        args = [str(tmp_path / "in"), str(tmp_path / "out"), "--backend", "openai", "--endpoint", server.endpoint,
                "--model", "m", "--set", "retries=1", "--no-progress"]
        assert main(args) == 1
        summary = json.loads((tmp_path / "out" / "repair.stats.json").read_text())
        assert summary["failed"] == 1 and summary["counts"].get("outcome_lost", 0) == 0
        assert not shard_paths(tmp_path / "out")
        [line] = [json.loads(l) for l in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
        assert line["reason"] == "error" and "HTTP 503" in line["detail"]  # the task's failure, not a lost frame
        asked = len(server.requests)
        down["office"] = False
        assert main(args) == 0
        assert len(server.requests) == asked + 1  # only the request that failed: the other answer was cached
        written = {s.key: s.record for p in shard_paths(tmp_path / "out") for s in iter_shard(p)}
        assert [written[k]["extraction"]["outcome"] for k in sorted(written)] == \
            ["repaired_llm", "repaired_llm", "direct"]
        assert (tmp_path / "out" / "quarantine.jsonl").read_text() == ""
