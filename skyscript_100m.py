"""SkyScript-100M as a ``datasets`` builder: four configs over WebDataset shards, features from the JSON Schemas.

``datasets`` 4+ refuses loading scripts, so ``load_dataset("skyscript-100m", CONFIG)`` reads the dataset
folder's README YAML, which ``skyscript publish``/``skyscript card`` generate from this module's features. Use
the class directly for the same rows without the YAML::

    builder = SkyScript100M(config_name="frames", data_dir="skyscript-100m")
    builder.download_and_prepare()
    frames = builder.as_dataset(split="train")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import datasets
from datasets.builder import Key

from builder.contract import CONFIG_OF_KIND, KIND_OF_CONFIG, SCHEMA_VERSION
from builder.features import row_features
from builder.sample import PUBLISHED_MEMBERS
from builder.shards import iter_shard
from builder.validation import image_hash_problems, privacy_problems

_DESCRIPTION = (
    "SkyScript-100M: short-drama keyframes with key information, refined shooting scripts, highlight curves "
    "and script / shooting-script pairs."
)
_CONFIG_DESCRIPTIONS = {
    "frames": "one keyframe per row: pixelated JPEG and its key information (paper Tables 3-5)",
    "shooting_scripts": "one scene segment per row as a refined shooting script (paper Table 1)",
    "highlight_curves": "one episode per row: a highlight curve from Valence/Arousal/Dominance",
    "pairs": "one restored script per row, paired with its shooting script",
}


class SkyScript100M(datasets.GeneratorBasedBuilder):
    """Rows ``{__key__, __url__, [jpg,] json}`` from ``<data_dir>/<config>/*.tar`` (or explicit ``data_files``)."""

    VERSION = datasets.Version(f"{SCHEMA_VERSION}.0")
    BUILDER_CONFIGS = [
        datasets.BuilderConfig(name=config, version=datasets.Version(f"{SCHEMA_VERSION}.0"),
                               description=_CONFIG_DESCRIPTIONS[config])
        for config in CONFIG_OF_KIND.values()
    ]
    DEFAULT_CONFIG_NAME = "frames"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=_DESCRIPTION, features=row_features(self.config.name),
                                    license="mit")

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if self.config.data_files:
            files = {str(split): list(paths) for split, paths in self.config.data_files.items()}
        elif self.config.data_dir:
            shards = sorted(str(p) for p in (Path(self.config.data_dir) / self.config.name).glob("*.tar"))
            if not shards:
                raise FileNotFoundError(f"no shards in {Path(self.config.data_dir) / self.config.name}/*.tar")
            files = {"train": shards}
        else:
            raise ValueError("give data_dir= (a dataset folder built by `skyscript publish`) or data_files=")
        files = dl_manager.download(files)
        return [datasets.SplitGenerator(name=split, gen_kwargs={"shards": paths}) for split, paths in files.items()]

    def _generate_shards(self, shards: list[str]) -> Iterator[str]:
        yield from shards

    def _generate_examples(self, shards: list[str]) -> Iterator[tuple[Key, dict[str, Any]]]:
        kind = KIND_OF_CONFIG[self.config.name]
        members = PUBLISHED_MEMBERS[kind]
        for shard_index, shard in enumerate(shards):
            for index, sample in enumerate(iter_shard(shard)):
                if sample.kind != kind:
                    raise ValueError(f"{shard}: sample {sample.key!r} is a {sample.kind!r}, not a {kind!r}")
                missing = [m for m in members if m not in sample.members]
                if missing:
                    raise ValueError(f"{shard}: sample {sample.key!r} lacks member(s) {missing}")
                for problem in privacy_problems(sample) or image_hash_problems(sample):
                    raise ValueError(f"{shard}: {problem}")
                row: dict[str, Any] = {"__key__": sample.key, "__url__": shard}
                for member in members:
                    row[member] = {"path": f"{sample.key}.{member}", "bytes": sample.members[member]}
                row["json"] = sample.record
                yield Key(shard_index, index), row
