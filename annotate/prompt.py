"""The versioned prompts of ``annotate/prompts/<version>/``: Table 3 for extraction, Table 6 for JSON repair, and
the restoration prompt with its variants (``restore.*``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from annotate.errors import ModelError
from annotate.vlm import sha256_text


@dataclass(frozen=True)
class Prompt:
    """A filled prompt; ``sha`` identifies the template version and the output-format variant."""

    system: str
    user: str
    sha: str


@cache
def _read(version: str, name: str) -> str:
    try:
        return (resources.files("annotate.prompts") / version / name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ModelError(f"prompt {version}/{name} not found: check the setting prompt_version") from exc


def extraction_prompt(version: str, images: int) -> Prompt:
    """Table 3 with the output-format section for one image (an object) or several (an array in order)."""
    system, user = _read(version, "extract.system.txt").strip(), _read(version, "extract.user.txt").strip()
    variant = "extract.format-one.txt" if images == 1 else "extract.format-many.txt"
    output = _read(version, variant).strip()
    sha = sha256_text("\0".join((version, system, user, output)))[:16]
    return Prompt(system, user.replace("{output_format}", output.replace("{count}", str(images))), sha)


def repair_prompt(version: str, answer: str) -> Prompt:
    """Table 6 with the answer to correct appended; the sha covers the template, not the answer."""
    system, user = _read(version, "repair.system.txt").strip(), _read(version, "repair.user.txt").strip()
    return Prompt(system, user.replace("{answer}", answer), sha256_text("\0".join((version, system, user)))[:16])


@dataclass(frozen=True)
class Variant:
    """One restoration prompt variant: its id (``short-sparse-neutral``) and its three instructions."""

    id: str
    length: str
    detail: str
    voice: str


@cache
def restoration_variants(version: str) -> tuple[Variant, ...]:
    """Every variant of ``restore.variants.yaml``: the product of its lengths, details and voices, in file order."""
    import yaml

    axes = yaml.safe_load(_read(version, "restore.variants.yaml"))
    try:
        return tuple(Variant(f"{length}-{detail}-{voice}", axes["length"][length], axes["detail"][detail],
                             axes["voice"][voice])
                     for length in axes["length"] for detail in axes["detail"] for voice in axes["voice"])
    except (KeyError, TypeError) as exc:
        raise ModelError(f"prompt {version}/restore.variants.yaml: needs mappings length, detail and voice") from exc


def restoration_prompt(version: str, variant: Variant, shooting_script: str) -> Prompt:
    """The restoration prompt of one variant for one shooting script; the sha covers the template and the variant,
    not the script."""
    system, user = _read(version, "restore.system.txt").strip(), _read(version, "restore.user.txt").strip()
    filled = user.replace("{length}", variant.length).replace("{detail}", variant.detail) \
        .replace("{voice}", variant.voice)
    sha = sha256_text("\0".join((version, system, filled)))[:16]
    return Prompt(system, filled.replace("{shooting_script}", shooting_script), sha)
