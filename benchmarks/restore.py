"""The restore stage: template restorations per second beside the Table 1 rendering (the baseline), bytes per pair
with and without the shooting script's text and what that makes at the paper's scale, and requests per second of
the served backend against the tests' local chat server at concurrency 1, 8 and 32.

Scripts: the demo chain's (``out/demo/work/highlight``, after ``make demo``) and the script stage run on the official
sample's five records (real descriptions, actions and dialogue; needs ``../shared/data``), or the stage folders
given with ``--scripts``. Bytes per pair are those of a published shard: the JSON member with its 512-byte tar
header, padded to 512 bytes. Served: one script, ``--requests`` restorations, the whole stage timed (requests,
response cache, checks, shards) into a fresh OUT, the server (in a process of its own) answering a 1.5 KB
restoration after ``--delay-ms`` (0 and 50 by default: a free server, then one that takes 50 ms per answer as a
model would at the least).
Run: ``.venv/bin/python benchmarks/restore.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from multiprocessing import Event, Process, Queue
from pathlib import Path

from common import REPO, best, figure

sys.path[:0] = [str(REPO), str(REPO / "tests")]

from chat_server import ChatServer, Reply  # noqa: E402
from factories import official_frame_samples  # noqa: E402

from annotate.plain_script import render_plain  # noqa: E402
from annotate.restore import RestoreConfig, RestoreStage  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from annotate.script import ScriptConfig, ScriptStage  # noqa: E402
from builder.sample import Sample, encode_json  # noqa: E402
from builder.script_text import render_script  # noqa: E402
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402

OFFICIAL = REPO.parent / "shared" / "data" / "official-sample-en.first5.json"
DEMO = REPO / "out" / "demo" / "work" / "highlight"
PAPER_PAIRS = 10_000_000 * 100  # 10M shooting scripts x 100 restorations


def tar_bytes(payload: int) -> int:
    """A one-member sample in a tar: the 512-byte header and the data padded to 512 bytes."""
    return 512 + -(-payload // 512) * 512


def official_scripts(tmp: Path) -> Path:
    with ShardWriter(tmp / "in", "repair-official", Quarantine(tmp / "in" / "quarantine.jsonl", "bench")) as writer:
        for sample in official_frame_samples(OFFICIAL):
            writer.write(sample)
    run_stage(ScriptStage(ScriptConfig()), tmp / "in", tmp / "script", progress=False)
    return tmp / "script"


def scripts_of(folder: Path) -> list[dict]:
    return [s.record for p in shard_paths(folder) for s in iter_shard(p) if s.kind == "shooting_script"]


def template_rows(sets: dict[str, Path], tmp: Path) -> None:
    print(f"{'scripts':<10} {'n':>4} {'template /s':>12} {'Table 1 /s':>11} {'stage s':>8} {'pair B':>7} "
          f"{'pair B, no text':>16} {'1B pairs TB':>12} {'no text TB':>11}")
    for name, folder in sets.items():
        scripts = scripts_of(folder)
        repeat = max(1, 2000 // len(scripts))
        template = best(lambda: [render_plain(s) for _ in range(repeat) for s in scripts], 3)
        table1 = best(lambda: [render_script(s) for _ in range(repeat) for s in scripts], 3)
        started = time.perf_counter()
        run_stage(RestoreStage(RestoreConfig()), folder, tmp / f"restore-{name}", progress=False)
        stage = time.perf_counter() - started
        pairs = [s.record for p in shard_paths(tmp / f"restore-{name}") for s in iter_shard(p) if s.kind == "pair"]
        full = sum(tar_bytes(len(encode_json(p))) for p in pairs) / len(pairs)
        bare = sum(tar_bytes(len(encode_json({k: v for k, v in p.items() if k != "shooting_script"})))
                   for p in pairs) / len(pairs)
        count = len(scripts) * repeat
        print(f"{name:<10} {len(scripts):>4} {count / template:>12,.0f} {count / table1:>11,.0f} "
              f"{stage:>8,.2f} {full:>7,.0f} {bare:>16,.0f} {full * PAPER_PAIRS / 1e12:>12,.2f} "
              f"{bare * PAPER_PAIRS / 1e12:>11,.2f}")
        figure("restore", f"template restorations, {name} scripts", count / template, "restorations/s",
               "Table 1 rendering", count / table1)
        figure("restore", f"bytes per published pair, {name} scripts", full, "B/pair",
               "pair without the shooting script's text", bare, better="lower")


def serve(answer: str, delay_s: float, endpoint: Queue, stop: Event) -> None:
    """The local chat server in a process of its own (as a real server is), answering every request alike."""
    with ChatServer(lambda body, attempt: Reply(f"{answer}\n(take {body['seed']})", delay_s=delay_s)) as server:
        endpoint.put(server.endpoint)
        stop.wait()


def served_rows(script: dict, requests: int, delays_ms: list[int], tmp: Path) -> None:
    with ShardWriter(tmp / "one", "script-one", Quarantine(tmp / "one" / "quarantine.jsonl", "bench")) as writer:
        writer.write(Sample(script["script_id"], script))
    answer = (render_plain(script).text + "\n\n") * max(1, 1500 // max(1, len(render_plain(script).text)))
    print(f"\n{'server delay ms':>15} {'concurrency':>12} {'requests':>9} {'requests/s':>11}")
    for delay in delays_ms:
        endpoint, stop = Queue(), Event()
        server = Process(target=serve, args=(answer, delay / 1000, endpoint, stop))
        server.start()
        try:
            url = endpoint.get(timeout=30)
            rates = {}
            for concurrency in (1, 8, 32):
                config = RestoreConfig(backend="openai", endpoint=url, model="restorer", n=requests,
                                       concurrency=concurrency)
                out = tmp / f"served-{delay}-{concurrency}"
                started = time.perf_counter()
                summary = run_stage(RestoreStage(config), tmp / "one", out, progress=False)
                seconds = time.perf_counter() - started
                assert summary.failed == 0 and summary.counts["restoration_requests"] == requests
                print(f"{delay:>15} {concurrency:>12} {requests:>9} {requests / seconds:>11,.1f}")
                rates[concurrency] = requests / seconds
            if delay:
                figure("restore", f"served backend, {delay} ms server, concurrency 32", rates[32], "requests/s",
                       "concurrency 1", rates[1])
        finally:
            stop.set()
            server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", nargs="*", type=Path, default=[], help="stage folders with shooting scripts")
    parser.add_argument("--requests", type=int, default=256, help="restorations asked per served run")
    parser.add_argument("--delay-ms", nargs="*", type=int, default=[0, 50])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {p.name: p for p in args.scripts}
        if not sets:
            if DEMO.exists():
                sets["demo"] = DEMO
            if OFFICIAL.exists():
                sets["official"] = official_scripts(tmp)
        if not sets:
            sys.exit("no shooting scripts: run `make demo`, or give --scripts DIR")
        template_rows(sets, tmp)
        richest = max((s for folder in sets.values() for s in scripts_of(folder)), key=lambda s: len(s["text"]))
        served_rows(richest, args.requests, args.delay_ms, tmp)


if __name__ == "__main__":
    main()
