"""The restore stage: the template on real shooting scripts of the chain, a served model's restorations checked,
deduplicated and counted, retries and a failed request retried by the next run, and a tiny local model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chat_server import ChatServer, Reply
from factories import official_frame_samples, shooting_script_record

from annotate.camera_terms import camera_terms
from annotate.config import ConfigError
from annotate.plain_script import characters, dialogue_lines
from annotate.prompt import restoration_variants
from annotate.restore import RestoreConfig, RestoreStage, main
from annotate.runner import run_stage
from annotate.script import ScriptConfig, ScriptStage
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths


def samples_of(folder: Path) -> list[Sample]:
    return [s for shard in shard_paths(folder) for s in iter_shard(shard)]


def write_stage(folder: Path, samples: list[Sample]) -> Path:
    with ShardWriter(folder, "script-test", Quarantine(folder / "quarantine.jsonl", "test")) as writer:
        for sample in samples:
            assert writer.write(sample), sample.key
    return folder


@pytest.fixture(scope="module")
def official_script(shared_data, tmp_path_factory) -> Path:
    """The script stage on the official sample's five records (real descriptions, actions and dialogue)."""
    root = tmp_path_factory.mktemp("official")
    write_stage(root / "in", official_frame_samples(shared_data / "official-sample-en.first5.json"))
    run_stage(ScriptStage(ScriptConfig()), root / "in", root / "script", progress=False)
    return root / "script"


def script_without_dialogue(i: int) -> dict:
    from builder.script_text import render_script

    record = shooting_script_record(i)
    for shot in record["shots"]:
        shot["dialogue"] = []
    record["text"] = render_script(record)
    return record


def test_template_restores_real_scripts_without_camera_details(music_script, official_script, tmp_path):
    for name, folder in (("music", music_script), ("official", official_script)):
        out = tmp_path / name
        summary = run_stage(RestoreStage(RestoreConfig()), folder, out, progress=False)
        assert summary.failed == 0 and summary.quarantined == 0
        before, after = samples_of(folder), samples_of(out)
        assert [(s.key, s.record) for s in after if s.kind != "pair"] == [(s.key, s.record) for s in before]
        scripts = {s.record["script_id"]: s.record for s in before if s.kind == "shooting_script"}
        pairs = [s.record for s in after if s.kind == "pair"]
        assert len(scripts) >= (20 if name == "music" else 1)
        assert sorted(p["script_id"] for p in pairs) == sorted(scripts)  # one each
        for pair in pairs:
            script = scripts[pair["script_id"]]
            lines = dialogue_lines(script)
            assert camera_terms(pair["script"], exempt=lines) == [], pair["script"]
            assert all(name.upper() in pair["script"].upper() for name in characters(script))
            assert all(line.strip() in pair["script"] for line in lines)
            assert pair["shooting_script"] == script["text"]
            assert pair["generator"]["backend"] == "template" and pair["generator"]["seed"] is None
        counts = json.loads((out / "restore.stats.json").read_text())["counts"]
        assert counts["pairs"] == counts["scripts"] == len(scripts)
        if name == "official":
            [pair] = pairs
            assert len(dialogue_lines(scripts[pair["script_id"]])) == 4 and "C02" in pair["script"]


def test_template_makes_one_restoration(tmp_path):
    write_stage(tmp_path / "in", [Sample("s0", shooting_script_record(0))])
    with pytest.raises(ConfigError, match="one restoration per script"):
        run_stage(RestoreStage(RestoreConfig(n=3)), tmp_path / "in", tmp_path / "out", progress=False)
    assert main([str(tmp_path / "in"), str(tmp_path / "out2"), "--n", "0", "--no-progress"]) == 2


GOOD_LINES = "\n\n".join(f"{s['speaker'].upper()}\n{s['line']}" for s in shooting_script_record(0)["shots"][0]
                         ["dialogue"] + shooting_script_record(0)["shots"][1]["dialogue"]
                         + shooting_script_record(0)["shots"][2]["dialogue"])
STORIES = ["Rain beats on the office windows while the two partners count the missing money.",
           "A storm gathers over the harbour and the old ferry has not come back yet.",
           "Morning light fills the empty dining room where breakfast was never served.",
           "The market closes early; traders pack their stalls as the sirens start.",
           "Snow covers the station platform and the last train waits with its doors open.",
           "A wedding party spills into the courtyard, lanterns swaying above the crowd.",
           "In the hospital corridor the clock ticks past midnight and nobody speaks."]


def restoration(story: str) -> str:
    return f"SCENE 1\nINT. OFFICE - NIGHT\n\nDESCRIPTION:\n{story} " * 3 + "\n\n" + GOOD_LINES


#: what the served model answers for restoration k (its seed, base 0), and what must become of it
ANSWERS = {
    0: (restoration(STORIES[0]), "pair"),
    1: (restoration(STORIES[1]), "pair"),
    2: (restoration(STORIES[2]), "pair"),
    3: (restoration(STORIES[3]), "pair"),
    4: (restoration(STORIES[0]).replace("missing", "stolen"), "near_duplicate"),
    5: (restoration(STORIES[1]), "near_duplicate"),
    6: (restoration(STORIES[4]) + "\n\nCLOSE-UP on the money.", "camera_vocabulary"),
    7: (restoration(STORIES[5]).rsplit("\n\n", 1)[0], "lost_dialogue"),
    8: ("", "empty"),
    9: ("```text\n" + restoration(STORIES[6]) + "\n```", "pair"),
}


def served(script_folder: Path, out: Path, endpoint: str, *extra: str) -> int:
    return main([str(script_folder), str(out), "--backend", "openai", "--endpoint", endpoint, "--model", "restorer",
                 "--n", str(len(ANSWERS)), "--set", "retries=1", "--set", "temperature=0.9", *extra, "--no-progress"])


def test_served_restorations_are_checked_deduplicated_and_counted(tmp_path):
    write_stage(tmp_path / "in", [Sample("s0", shooting_script_record(0))])
    with ChatServer(lambda body, attempt: Reply(ANSWERS[body["seed"]][0])) as server:
        assert served(tmp_path / "in", tmp_path / "out", server.endpoint) == 0
    stats = json.loads((tmp_path / "out" / "restore.stats.json").read_text())["counts"]
    expected = [outcome for _, outcome in ANSWERS.values()]
    assert stats == {"pairs": expected.count("pair"), "scripts": 1, "restoration_requests": len(ANSWERS),
                     **{f"restorations_dropped_{r}": expected.count(r) for r in set(expected) - {"pair"}}}
    pairs = [s.record for s in samples_of(tmp_path / "out") if s.kind == "pair"]
    assert [p["restoration_index"] for p in pairs] == [k for k, (_, o) in ANSWERS.items() if o == "pair"]
    variants = restoration_variants("v1")
    for pair in pairs:
        k = pair["restoration_index"]
        assert pair["generator"] | {"prompt_sha": None} == {
            "backend": "openai", "model": "restorer", "revision": None, "temperature": 0.9, "top_p": 0.95, "seed": k,
            "variant": variants[k % len(variants)].id, "prompt_sha": None}
        assert pair["script"] == ANSWERS[k][0].removeprefix("```text\n").removesuffix("\n```").strip()
    assert len({p["generator"]["prompt_sha"] for p in pairs}) == len(pairs)  # one variant each
    bodies = sorted(server.requests, key=lambda b: b["seed"])
    assert [b["seed"] for b in bodies] == list(range(len(ANSWERS)))
    assert all(b["temperature"] == 0.9 and shooting_script_record(0)["text"] in b["messages"][-1]["content"]
               for b in bodies)
    assert len({b["messages"][-1]["content"] for b in bodies}) == len(ANSWERS)  # ten variants, ten prompts


def test_a_script_left_without_restorations_is_quarantined(tmp_path):
    write_stage(tmp_path / "in", [Sample("s0", shooting_script_record(0))])
    with ChatServer(lambda body, attempt: Reply("WIDE SHOT. Nothing else.")) as server:
        assert served(tmp_path / "in", tmp_path / "out", server.endpoint) == 0
    [line] = [json.loads(x) for x in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert line["reason"] == "no_restoration" and "camera_vocabulary 10" in line["detail"]


def test_retries_and_a_failed_request_retried_by_the_next_run(tmp_path):
    write_stage(tmp_path / "in", [Sample("s0", shooting_script_record(0))])
    down = {3: True}

    def flaky(body: dict, attempt: int) -> Reply:
        k = body["seed"]
        if k == 5 and attempt == 1:
            return Reply(status=503)  # once: the client's retry gets it
        if down.get(k):
            return Reply(status=503)
        return Reply(ANSWERS[k][0])

    with ChatServer(flaky) as server:
        assert served(tmp_path / "in", tmp_path / "out", server.endpoint) == 1
        summary = json.loads((tmp_path / "out" / "restore.stats.json").read_text())
        assert summary["failed"] == 1 and not shard_paths(tmp_path / "out")
        [line] = [json.loads(x) for x in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
        assert line["reason"] == "error" and "1 of 10 restoration request(s)" in line["detail"]
        assert sum(b["seed"] == 5 for b in server.requests) == 2 and sum(b["seed"] == 3 for b in server.requests) == 2
        asked = len(server.requests)
        down[3] = False
        assert served(tmp_path / "in", tmp_path / "out", server.endpoint) == 0
        assert [b["seed"] for b in server.requests[asked:]] == [3]  # the others came from the cache
    stats = json.loads((tmp_path / "out" / "restore.stats.json").read_text())
    assert stats["done"] == 1 and stats["counts"]["pairs"] == 5
    assert (tmp_path / "out" / "quarantine.jsonl").read_text() == ""


def test_a_tiny_local_model_restores_in_batches_with_a_seed_each(tiny_models, tmp_path):
    write_stage(tmp_path / "in", [Sample("s0", script_without_dialogue(0))])
    texts = []
    for batch_size in (3, 1):
        out = tmp_path / f"out{batch_size}"
        config = RestoreConfig(backend="transformers", model=str(tiny_models["llama"]), n=4, max_new_tokens=12,
                               temperature=1.0, seed=10, batch_size=batch_size)
        summary = run_stage(RestoreStage(config), tmp_path / "in", out, progress=False)
        assert summary.failed == 0
        counts = json.loads((out / "restore.stats.json").read_text())["counts"]
        dropped = sum(v for k, v in counts.items() if k.startswith("restorations_dropped_"))
        assert counts["restoration_requests"] == 4 and counts.get("pairs", 0) + dropped == 4
        pairs = [s.record for s in samples_of(out) if s.kind == "pair"]
        assert pairs, counts
        for pair in pairs:
            generator = pair["generator"]
            assert generator["backend"] == "transformers" and generator["model"] == str(tiny_models["llama"])
            assert generator["seed"] == 10 + pair["restoration_index"] and generator["temperature"] == 1.0
        texts.append({p["restoration_index"]: p["script"] for p in pairs})
    assert texts[0] == texts[1]  # each restoration depends on its seed, not on the batch it was sampled in
