"""What ``load_dataset`` gives for each config of a dataset folder, as text (``skyscript show``, ``skyscript run``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from builder.contract import CONFIG_OF_KIND
from builder.errors import SkyscriptError


def built_configs(folder: Path) -> list[str]:
    """The configs of a dataset folder that have shards, in contract order."""
    return [c for c in CONFIG_OF_KIND.values() if any((folder / c).glob("*.tar"))]


def loaded_configs(folder: str | Path, streaming: bool = False, width: int = 900) -> Iterator[str]:
    """For each built config: the ``load_dataset`` call, the dataset it returns and its first row (the record
    cut at ``width`` characters)."""
    import datasets

    folder = Path(folder)
    configs = built_configs(folder)
    if not configs:
        raise SkyscriptError(f"{folder}: no config has shards (a dataset folder made by `skyscript publish`)")
    for config in configs:
        dataset = datasets.load_dataset(str(folder), config, split="train", streaming=streaming)
        yield f'load_dataset("{folder}", "{config}", split="train"{", streaming=True" if streaming else ""})'
        yield str(dataset)
        row = next(iter(dataset))
        record = json.dumps(row["json"], ensure_ascii=False, default=str)
        yield f"first row: {({k: v for k, v in row.items() if k != 'json'})}"
        yield "  json: " + (record if len(record) <= width else record[:width] + " ...")
