"""Run under ``accelerate launch``: this rank's keys of a config, streamed by ``training_stream`` through a
DataLoader, written to ``OUT/rank{r}-{workers}-{shuffle}.json`` (tests/builder/test_streaming.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from accelerate import PartialState

from builder.streaming import training_stream


def main(dataset: str, config: str, out: str) -> None:
    state = PartialState(cpu=not torch.cuda.is_available())
    for workers in (0, 2):
        for shuffle in (0, 8):
            stream = training_stream(config, dataset, state=state, shuffle_buffer=shuffle, seed=5)
            loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers)
            keys = [row["__key__"] for row in loader]
            name = f"rank{state.process_index}-{workers}-{shuffle}.json"
            (Path(out) / name).write_text(json.dumps({"world": state.num_processes, "keys": keys}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
