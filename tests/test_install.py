"""Reading needs no annotation stack: a fresh venv with the plain wheel loads, validates and re-renders a folder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import venv

import pytest
from factories import frame_sample, pair_record

from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter


@pytest.mark.slow
def test_plain_wheel_in_fresh_venv(tmp_path, repo):
    with ShardWriter(tmp_path / "stage", "s", Quarantine(tmp_path / "q.jsonl", "t")) as w:
        for i in range(3):
            w.write(frame_sample(i))
        w.write(Sample("pair0", pair_record(0)))
    publish(tmp_path / "stage", tmp_path / "skyscript-100m", progress=False)

    # built with this environment's setuptools (no isolated build environment to set up), and installed by this
    # environment's pip into a venv without one (--python; no ensurepip), without byte-compiling every package
    # (--no-compile): the same wheel and the same resolved packages, in a fraction of the time
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(repo)], check=True)
    [wheel] = (tmp_path / "dist").glob("skyscript_100m-*.whl")
    venv.create(tmp_path / "env", with_pip=False)
    python = tmp_path / "env" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile",
                    "--disable-pip-version-check", "-c", str(repo / "constraints.txt"), str(wheel)], check=True)

    work = tmp_path / "elsewhere"  # no checkout on the path
    work.mkdir()
    check = textwrap.dedent("""
        import importlib.util, sys
        for heavy in ("torch", "transformers", "deepface", "accelerate", "av"):
            assert importlib.util.find_spec(heavy) is None, heavy + " must not be installed by the plain wheel"
        from builder.contract import schema_dir, load_schema
        assert "site-packages" in str(schema_dir()), schema_dir()
        assert load_schema("frame")["properties"]["kind"]["const"] == "frame"
        import datasets
        frames = datasets.load_dataset("../skyscript-100m", "frames", split="train")
        pairs = datasets.load_dataset("../skyscript-100m", "pairs", split="train", streaming=True)
        assert frames.num_rows == 3 and frames[0]["jpg"].size == (96, 54)
        assert [r["json"]["pair_id"] for r in pairs] == [sys.argv[1]]
        print("ok")
    """)
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(python), "-c", check, pair_record(0)["pair_id"]], cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
    skyscript = tmp_path / "env" / "bin" / "skyscript"
    for command in (["validate", str(tmp_path / "skyscript-100m")], ["card", str(tmp_path / "skyscript-100m")]):
        result = subprocess.run([str(skyscript), *command], cwd=work, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        if command[0] == "validate":
            assert "frame: 3 valid" in result.stdout
    result = subprocess.run([str(skyscript), "keyframes", "in", "out"], cwd=work, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 1 and "skyscript-100m[annotate]" in result.stderr
