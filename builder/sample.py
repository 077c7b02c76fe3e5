"""One sample of a shard: its key, its JSON record and its other members (images, raw answers)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

#: sample keys: no dots (webdataset splits member names at the first dot), no slashes, stable across reruns
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")

#: members a sample of each kind may carry in working (stage) shards, besides ``json``
WORKING_MEMBERS: dict[str, frozenset[str]] = {
    "frame": frozenset({"jpg", "raw.jpg", "answer.txt"}),  # answer.txt: the extraction model's raw answer
    "shooting_script": frozenset(),
    "highlight_curve": frozenset({"png"}),
    "pair": frozenset(),
}
#: members every published sample of a kind has, besides ``json`` (the dataset folder's columns)
PUBLISHED_MEMBERS: dict[str, tuple[str, ...]] = {
    "frame": ("jpg",),
    "shooting_script": (),
    "highlight_curve": ("png",),  # the curve drawn
    "pair": (),
}
IMAGE_EXTENSIONS = (".jpg", ".png")


def encode_json(record: dict[str, Any]) -> bytes:
    """Canonical bytes of a record: sorted keys, no spaces, UTF-8 (identical input gives identical bytes)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


@dataclass
class Sample:
    """A record with its key and binary members (member name without the key, e.g. ``jpg``, ``raw.jpg``)."""

    key: str
    record: dict[str, Any]
    members: dict[str, bytes] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        kind = self.record.get("kind") if isinstance(self.record, dict) else None
        return kind if isinstance(kind, str) else None

    def files(self) -> dict[str, bytes]:
        """All members as ``{extension: bytes}``, the JSON record included."""
        return {"json": encode_json(self.record), **self.members}
