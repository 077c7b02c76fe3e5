"""What README.md shows a user doing, run as written: the plain ``webdataset`` example on a published folder,
``skyscript show`` and ``skyscript import-official`` as commands (output, exit status, files, refusals)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import webdataset as wds
from factories import frame_sample, jpeg_bytes, pair_record, script_key, shooting_script_record
from PIL import Image

from builder.cli import main
from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO.parent / "shared" / "data" / "official-sample-en.first5.json"
#: the console script installed beside the interpreter running the tests (``.venv/bin/skyscript``)
SKYSCRIPT = Path(sys.executable).with_name("skyscript")
N_FRAMES = 6


def readme_webdataset_url() -> str:
    """The shard pattern of the README's plain ``webdataset`` example, read from the README itself."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.findall(r'wds\.WebDataset\("([^"]+)", shardshuffle=False\)\.decode\("pil"\)', text)
    assert len(found) == 1, "README.md should show one plain webdataset example"
    return found[0]


def stage_samples() -> list[Sample]:
    """Frames of two sizes (some with a working ``raw.jpg``), shooting scripts and pairs; no highlight curve."""
    frames = [frame_sample(i, *((96, 54) if i % 2 == 0 else (64, 36))) for i in range(N_FRAMES)]
    for sample in frames[:3]:
        sample.members["raw.jpg"] = jpeg_bytes(sample.record["width"], sample.record["height"], seed=500)
    return [
        *frames,
        *(Sample(script_key(i), shooting_script_record(i)) for i in range(2)),
        *(Sample(f"pair{i}", pair_record(i)) for i in range(3)),
    ]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, list[Sample]]:
    """``ROOT/skyscript-100m`` published (one shard per config) from a stage folder of factory samples."""
    root = tmp_path_factory.mktemp("readme")
    samples = stage_samples()
    with ShardWriter(root / "stage", "stage", Quarantine(root / "stage" / "quarantine.jsonl", "test"),
                     max_count=4) as writer:
        for sample in samples:
            assert writer.write(sample), sample.key
    report = publish(root / "stage", root / "skyscript-100m", progress=False)
    assert {k: v for k, v in report.counts.items() if v} == {"frames": N_FRAMES, "shooting_scripts": 2, "pairs": 3}
    assert not (root / "skyscript-100m" / "highlight_curves").exists()
    return root / "skyscript-100m", samples


def skyscript(*args: str) -> subprocess.CompletedProcess:
    assert SKYSCRIPT.is_file(), f"the skyscript console script is not installed beside {sys.executable}"
    return subprocess.run([str(SKYSCRIPT), *args], capture_output=True, text=True, timeout=120)


# --- README: streaming with plain webdataset ---

def test_plain_webdataset_example_yields_every_frame(dataset, monkeypatch):
    folder, samples = dataset
    monkeypatch.chdir(folder.parent)  # the README's path is relative to where the dataset folder lies
    url = readme_webdataset_url()
    assert url.startswith(f"{folder.name}/frames/")
    got = list(wds.WebDataset(url, shardshuffle=False).decode("pil"))
    frames = [s for s in samples if s.kind == "frame"]
    assert [s["__key__"] for s in got] == [s.key for s in frames]
    for sample, source in zip(got, frames):
        assert {k for k in sample if not k.startswith("__")} == {"jpg", "json"}, sample["__key__"]
        assert sample["json"] == source.record
        image = sample["jpg"]
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        assert image.size == (sample["json"]["width"], sample["json"]["height"])
        # the published jpg, not the working raw.jpg
        assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(source.members["jpg"]))))
    assert {s["jpg"].size for s in got} == {(96, 54), (64, 36)}


# --- README: pairs through a chat template ---

def readme_chat_example() -> str:
    """The README's fine-tuning example (the code block that applies a chat template to pairs)."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)
    [block] = [b for b in blocks if "apply_chat_template" in b]
    return block


def test_chat_template_example_makes_training_text_of_pairs(dataset, tmp_path, monkeypatch, capsys):
    from tiny_models import tiny_tokenizer

    folder, samples = dataset
    tiny_tokenizer().save_pretrained(tmp_path / "tokenizer")
    code = readme_chat_example()
    [model_id] = re.findall(r'AutoTokenizer\.from_pretrained\("([^"]+)"\)', code)
    assert '"skyscript-100m", "pairs"' in code
    monkeypatch.chdir(folder.parent)  # the README's dataset path is relative to where the dataset folder lies
    exec(compile(code.replace(model_id, str(tmp_path / "tokenizer")), "README.md", "exec"), {})
    out = capsys.readouterr().out
    pairs = [s for s in samples if s.kind == "pair"][:2]
    for pair, printed in zip(pairs, re.split(r"^(?=pair\d )", out, flags=re.M)[1:], strict=True):
        assert printed.startswith(f"{pair.key} <s>system: Write the shooting script")
        assert f"user: {pair.record['script']}\nassistant: {pair.record['shooting_script']}\n" in printed


# --- skyscript show ---

EXPECTED_CONFIGS = {  # config with shards -> (kind, id field, features printed)
    "frames": ("frame", "video_id", "['__key__', '__url__', 'jpg', 'json']"),
    "shooting_scripts": ("shooting_script", "script_id", "['__key__', '__url__', 'json']"),
    "pairs": ("pair", "pair_id", "['__key__', '__url__', 'json']"),
}


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
def test_show_prints_load_dataset_dataset_and_first_row_of_each_config(dataset, streaming, capsys):
    folder, samples = dataset
    code = main(["show", str(folder), *(["--streaming"] if streaming else [])])
    out = capsys.readouterr().out
    assert code == 0
    suffix = ", streaming=True" if streaming else ""
    calls = [line for line in out.splitlines() if line.startswith("load_dataset(")]
    assert calls == [f'load_dataset("{folder}", "{c}", split="train"{suffix})' for c in EXPECTED_CONFIGS]
    assert "highlight_curves" not in out  # no shards, not shown
    blocks = re.split(r"^(?=load_dataset\()", out, flags=re.M)[1:]
    for config, block in zip(EXPECTED_CONFIGS, blocks):
        kind, id_field, features = EXPECTED_CONFIGS[config]
        of_kind = [s for s in samples if s.kind == kind]
        first = of_kind[0]
        if streaming:
            assert "IterableDataset({" in block and "num_shards: 1" in block, block
        else:
            assert "\nDataset({" in block and f"num_rows: {len(of_kind)}" in block, block
        assert f"features: {features}" in block, block
        [row_line] = [line for line in block.splitlines() if line.startswith("first row:")]
        assert f"'__key__': '{first.key}'" in row_line
        assert f"{config}-000000.tar" in row_line and "'json'" not in row_line
        if kind == "frame":
            width, height = first.record["width"], first.record["height"]
            assert f"size={width}x{height}" in row_line
        [json_line] = [line for line in block.splitlines() if line.startswith("  json: ")]
        assert json_line.startswith('  json: {"kind": "%s"' % kind)
        assert f'"{id_field}": "{first.record[id_field]}"' in json_line


@pytest.mark.parametrize("layout", ["empty", "config_folders_without_shards"])
def test_show_refuses_a_folder_without_shards(tmp_path, layout):
    folder = tmp_path / "skyscript-100m"
    folder.mkdir()
    if layout == "config_folders_without_shards":
        for config in EXPECTED_CONFIGS:
            (folder / config).mkdir()
        (folder / "frames" / "frames-000000.tar.tmp").write_bytes(b"half a shard")  # not a finished shard
        (folder / "README.md").write_text("# card\n")
    result = skyscript("show", str(folder))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(folder) in lines[0], result.stderr
    assert result.stdout == ""


# --- skyscript import-official ---

def test_import_official_command_output_is_valid(tmp_path, capsys):
    assert SAMPLE.is_file(), f"shared sample data missing: {SAMPLE}"
    cases = json.loads(SAMPLE.read_text(encoding="utf-8"))
    out = tmp_path / "official.jsonl"
    assert main(["import-official", str(SAMPLE), str(out)]) == 0
    printed = capsys.readouterr().out
    [count] = [int(n) for n in re.findall(r"\b(\d+) frame record", printed)]
    assert count == len(cases) == 5 and str(out) in printed
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == count
    assert [json.loads(line)["__key__"] for line in lines] == list(cases)
    assert main(["validate", str(out)]) == 0
    report = capsys.readouterr().out
    assert f"frame: {count} valid" in report and "invalid: 0" in report


@pytest.mark.parametrize("content", ["this is not JSON\n", '{"Case_1": {"Scene": ["1", "Office"], '],
                         ids=["text", "truncated"])
def test_import_official_refuses_malformed_input_in_one_line(tmp_path, content):
    source = tmp_path / "sample-en.json"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "official.jsonl"
    result = skyscript("import-official", str(source), str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "import-official" in lines[0] or str(source) in lines[0], lines[0]
    assert not out.exists()
