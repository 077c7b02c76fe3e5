"""Streams for training: :func:`training_stream` gives one rank's share of a config as a ``datasets``
``IterableDataset``, from a dataset folder or a Hub repo alike. It needs ``datasets`` only (not the annotation
stack).

What is guaranteed (``datasets`` 5.2, tested in ``tests/builder/test_streaming.py``):

- **Split by rank.** ``split_dataset_by_node``: when the config's shard count divides by the world size, each rank
  reads whole shards of its own (``skyscript publish --shards-multiple-of N``, or ``publish.shards_multiple_of``
  in a run's config, makes the counts divide; the card lists each config's shards); otherwise every rank reads
  every shard and keeps one example in ``world_size`` (still disjoint, but each rank pays the reading of all).
  The ranks' examples are disjoint and together are the config, exactly once per epoch.
- **DataLoader workers.** A ``torch.utils.data.DataLoader`` with W workers splits the rank's shards again among
  its workers (give every rank at least W shards: a shard count that is a multiple of ranks x workers). Each
  example still comes once per epoch.
- **Shuffle.** ``shuffle_buffer`` > 0 shuffles the shard order (the same permutation on every rank, from
  ``seed`` and the epoch: call ``set_epoch(e)`` for a new order each epoch) and the examples through a buffer of
  that many. 0 streams in shard order.
- **Resume.** ``state_dict()`` after an example and ``load_state_dict()`` on a fresh stream made with the same
  arguments continue after that example. Without a shuffle buffer the rest of the epoch comes exactly, in order.
  With one, no example is repeated within the epoch, but the examples that were in the buffer at the checkpoint
  (at most ``shuffle_buffer``) are skipped for that epoch. Resuming with DataLoader workers needs a stateful loader
  (``torchdata``'s ``StatefulDataLoader``), which this package does not install.
- **Images** stay encoded until a row is read (``decode_images=False`` keeps them as ``{"bytes", "path"}`` for a
  transform of your own, e.g. decoding in the workers).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)


def rank_and_world(rank: int | None = None, world_size: int | None = None, state: Any = None) -> tuple[int, int]:
    """The rank and world size: given, else from an accelerate ``PartialState``/``Accelerator`` (``state``), else
    from ``RANK``/``WORLD_SIZE`` (set by ``accelerate launch`` and ``torchrun``), else one process."""
    if rank is None and world_size is None and state is not None:
        rank, world_size = state.process_index, state.num_processes
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world_size = int(os.environ.get("WORLD_SIZE", 1)) if world_size is None else world_size
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
    return rank, world_size


def training_stream(config: str, source: str | Path = "skyscript-100m", *, rank: int | None = None,
                    world_size: int | None = None, state: Any = None, shuffle_buffer: int = 1000, seed: int = 0,
                    decode_images: bool = True, revision: str | None = None, token: str | None = None):
    """One rank's stream of ``config`` (``frames``, ``shooting_scripts``, ``highlight_curves`` or ``pairs``) from a
    dataset folder or Hub repo ``source``, split by rank, shuffled with a buffer of ``shuffle_buffer`` examples
    (0: shard order) from ``seed``; see the module docstring for what is guaranteed."""
    import datasets
    from datasets.distributed import split_dataset_by_node

    rank, world_size = rank_and_world(rank, world_size, state)
    stream = datasets.load_dataset(str(source), config, split="train", streaming=True, revision=revision,
                                   token=token)
    if not decode_images:
        for name, feature in stream.features.items():
            if isinstance(feature, datasets.Image):
                stream = stream.cast_column(name, datasets.Image(decode=False))
    if stream.num_shards % world_size:
        LOG.warning("%s: %d shard(s) do not divide among %d ranks: every rank reads every shard and keeps one "
                    "example in %d (publish with --shards-multiple-of %d for whole shards per rank)", config,
                    stream.num_shards, world_size, world_size, world_size)
    if shuffle_buffer > 0:
        stream = stream.shuffle(seed=seed, buffer_size=shuffle_buffer)
    return split_dataset_by_node(stream, rank=rank, world_size=world_size)
