"""The dataset folder's ``README.md``: YAML ``configs:``/``dataset_info`` derived from the schemas, counts from stats.

``datasets`` 4+ loads a folder (or Hub repo) from this YAML alone, so it is generated, never written by hand;
the prose comes from the ``dataset_card.md`` template, whose ``${...}`` placeholders are filled here.
"""

from __future__ import annotations

import json
import re
import sysconfig
from pathlib import Path
from string import Template
from typing import Any

import yaml

from builder.contract import CONFIG_OF_KIND, KIND_OF_CONFIG, STAGES, load_schema, resolve
from builder.features import row_features
from builder.shards import STATS_SUFFIX, iter_shard, shard_paths, stats_path

TEMPLATE_NAME = "dataset_card.md"
PIPELINE = "pipeline.json"  # the stage summaries that made the folder, written by publish
PROVENANCE = "provenance.json"  # the records' provenance entries (stage, model, revision, prompt sha, settings sha)
CARD_METADATA: dict[str, Any] = {
    "pretty_name": "SkyScript-100M",
    "license": "mit",
    "language": ["en"],
    "task_categories": ["text-generation", "image-to-text"],
    "tags": ["short-drama", "shooting-script", "screenplay", "webdataset"],
}


def template_path() -> Path:
    """The card template: the checkout's ``dataset_card.md``, else the copy installed under ``share/``."""
    checkout = Path(__file__).resolve().parent.parent / TEMPLATE_NAME
    if checkout.exists():
        return checkout
    installed = Path(sysconfig.get_path("data")) / "share" / "skyscript-100m" / TEMPLATE_NAME
    if installed.exists():
        return installed
    raise FileNotFoundError(f"card template {TEMPLATE_NAME} not found beside the package nor at {installed}")


def config_stats(dataset_dir: Path, config: str) -> dict[str, Any]:
    """Totals of one config from its shards' ``.stats.json`` (a shard without stats is an error)."""
    totals: dict[str, Any] = {"shards": 0, "examples": 0, "bytes": 0}
    for shard in shard_paths(dataset_dir / config):
        path = stats_path(shard)
        if not path.exists():
            raise FileNotFoundError(f"{shard}: no {STATS_SUFFIX} beside it; run `skyscript publish` again")
        stats = json.loads(path.read_text(encoding="utf-8"))
        totals["shards"] += 1
        totals["examples"] += stats["written"]
        totals["bytes"] += stats["bytes"]
    return totals


def card_metadata(dataset_dir: Path, stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The YAML header: one ``configs`` entry and one ``dataset_info`` entry per config that has shards."""
    present = [config for config in CONFIG_OF_KIND.values() if stats[config]["shards"]]
    configs, infos = [], []
    for config in present:
        entry: dict[str, Any] = {"config_name": config,
                                 "data_files": [{"split": "train", "path": f"{config}/*.tar"}]}
        if config == present[0]:
            entry["default"] = True
        configs.append(entry)
        infos.append({
            "config_name": config,
            "features": row_features(config)._to_yaml_list(),
            "splits": [{"name": "train", "num_bytes": stats[config]["bytes"],
                        "num_examples": stats[config]["examples"]}],
        })
    largest = max(stats[config]["examples"] for config in present)
    return {**CARD_METADATA, "size_categories": [size_category(largest)], "configs": configs, "dataset_info": infos}


def size_category(examples: int) -> str:
    """The Hub's ``size_categories`` value for a number of examples (``n<1K``, ``1K<n<10K``, ...)."""
    names = ["1K", "10K", "100K", "1M", "10M", "100M", "1B", "10B", "100B", "1T"]
    if examples < 1000:
        return "n<1K"
    power = min(len(str(examples)) - 4, len(names) - 2)
    return f"{names[power]}<n<{names[power + 1]}"


class CardError(ValueError):
    """A card that ``huggingface_hub`` cannot read or that lacks what the dataset viewer needs."""


def card_metadata_of(text: str, where: str) -> dict[str, Any]:
    """The YAML header of a card as ``huggingface_hub`` reads it (``DatasetCard``, then ``DatasetCardData``)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    try:
        data = DatasetCard(text, ignore_metadata_errors=False).data.to_dict()
        return DatasetCardData(**data, ignore_metadata_errors=False).to_dict()
    except (ValueError, TypeError, yaml.YAMLError) as exc:
        raise CardError(f"{where}: its YAML header does not parse as a dataset card ({exc})") from exc


def dataset_infos(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The card's ``dataset_info`` entries by config name (one entry may be written as a mapping)."""
    infos = metadata.get("dataset_info") or []
    return {info.get("config_name", "default"): info for info in ([infos] if isinstance(infos, dict) else infos)}


def data_file_patterns(config: dict[str, Any]) -> list[str]:
    """The path patterns of a ``configs`` entry (``data_files``: a pattern, a list of patterns or of
    ``{split, path}`` entries, or ``{split: patterns}``)."""
    files = config.get("data_files") or []
    items = list(files.values()) if isinstance(files, dict) else [files] if isinstance(files, str) else files
    patterns: list[str] = []
    for item in items:
        paths = item.get("path", []) if isinstance(item, dict) else item
        patterns += [paths] if isinstance(paths, str) else paths
    return patterns


def metadata_problems(metadata: dict[str, Any]) -> list[str]:
    """What the Hub and its dataset viewer would miss: licence and name, ``configs`` with data files, and for each
    a ``dataset_info`` entry with features and a split."""
    problems = [f"no `{key}`" for key in ("license", "pretty_name") if not metadata.get(key)]
    configs = metadata.get("configs") or []
    if not configs:
        return problems + ["no `configs` in its YAML header"]
    infos = dataset_infos(metadata)
    for config in configs:
        name = config.get("config_name", "default")
        info = infos.get(name)
        if not config.get("data_files"):
            problems.append(f"config {name} has no data_files")
        if info is None:
            problems.append(f"config {name} has no `dataset_info` entry")
        elif not info.get("features") or not info.get("splits"):
            problems.append(f"config {name}: its `dataset_info` lacks features or splits")
    return problems


def check_card(dataset_dir: str | Path) -> dict[str, Any]:
    """Read ``DATASET_DIR/README.md`` as the Hub does and check it against the folder: a :class:`CardError` naming
    the first problem, else the metadata. Each config's data files must exist and its example count must be its
    shards' stats."""
    dataset_dir = Path(dataset_dir)
    path = dataset_dir / "README.md"
    metadata = card_metadata_of(path.read_text(encoding="utf-8"), str(path))
    problems = metadata_problems(metadata)
    infos = dataset_infos(metadata)
    for config in metadata.get("configs") or []:
        name = config.get("config_name", "default")
        patterns = data_file_patterns(config)
        if not any(any(dataset_dir.glob(pattern)) for pattern in patterns):
            problems.append(f"config {name}: no file matches its data_files {patterns}")
        elif name in infos and name in CONFIG_OF_KIND.values():
            declared = sum(split.get("num_examples", 0) for split in infos[name].get("splits", []))
            counted = config_stats(dataset_dir, name)["examples"]
            if declared != counted:
                problems.append(f"config {name}: dataset_info says {declared} example(s), its shards' stats {counted}")
    if problems:
        raise CardError(f"{path}: " + "; ".join(problems))
    return metadata


def _type_name(node: dict[str, Any], root: dict[str, Any]) -> str:
    node = resolve(node, root)
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"] if v is not None) + (" or null" if None in node["enum"] else "")
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    main = [t for t in types if t != "null"][0]
    if main == "array":
        main = f"list of {_type_name(node['items'], root)}"
    return main + (" or null" if "null" in types else "")


def fields_table(kind: str) -> str:
    """A Markdown table of a record's top-level fields, from its schema."""
    schema = load_schema(kind)
    rows = ["| field | type | notes |", "| --- | --- | --- |"]
    for name, prop in schema["properties"].items():
        note = resolve(prop, schema).get("description", "")
        rows.append(f"| `{name}` | {_type_name(prop, schema)} | {note} |")
    return "\n".join(rows)


def build_notes(pipeline: list[dict[str, Any]]) -> str:
    """What a reader must know about how complete and how protected this build is, from the stage summaries."""
    notes = []
    incomplete = {s["stage"]: s.get("incomplete", 0) for s in pipeline if s.get("incomplete")}
    if incomplete:
        notes.append(f"**Partial build.** {sum(incomplete.values())} task(s) failed or did not finish "
                     f"({', '.join(f'{stage}: {n}' for stage, n in incomplete.items())}); their samples are not "
                     "here. It was published with `--allow-partial`.")
    skipped = sum(s.get("counts", {}).get("frames_temporal_skipped", 0) for s in pipeline if s["stage"] == "privacy")
    if skipped:
        notes.append(f"**Privacy.** {skipped:,} frame(s) were pixelated without the temporal search on their "
                     "neighbouring frames (the source video was missing or unreadable); their records say so in "
                     "`privacy.temporal`.")
    return "\n\n".join(notes)


def stage_in(pipeline: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The summary of stage ``name`` in the pipeline, or None when it did not run."""
    return next((s for s in pipeline if s["stage"] == name), None)


def by_reason(counts: dict[str, int], prefix: str, separator: str) -> str:
    """The counts named ``<prefix><reason>`` as ``reason n`` (underscores as spaces), in name order."""
    return separator.join(f"{key.removeprefix(prefix).replace('_', ' ')} {n:,}" for key, n in sorted(counts.items())
                          if key.startswith(prefix))


def faces_summary(pipeline: list[dict[str, Any]]) -> str:
    """The calibrate stage's characters, conflicts and decisions, from its summary."""
    calibrate = stage_in(pipeline, "calibrate")
    if calibrate is None:
        return ("The calibrate stage did not run for this build: people carry no character ids and no face "
                "attributes.")
    c = calibrate.get("counts", {})
    attributes = ("age", "gender", "emotion")

    def per_attribute(prefix: str) -> str:
        return ", ".join(f"{a} {c.get(prefix + a, 0):,}" for a in attributes)

    return (f"{c.get('characters', 0):,} character(s) in {calibrate['tasks']:,} video(s), from {c.get('faces', 0):,} "
            f"face(s) on keyframes. Face model against extraction: conflicts {per_attribute('conflicts_')}; "
            f"test-time augmentation ran {c.get('tta_runs', 0):,} time(s); the face's value was adopted for "
            f"{per_attribute('adopted_face_')}, the extraction's kept for {per_attribute('adopted_extraction_')}. "
            f"V/A/D from the face for {c.get('vad_from_face', 0):,} person(s), from the extraction for "
            f"{c.get('vad_from_extraction', 0):,}.")


def scripts_summary(pipeline: list[dict[str, Any]]) -> str:
    """The script stage's scenes, shots, measured camera movement and layout, from its summary."""
    script = stage_in(pipeline, "script")
    if script is None:
        return "The script stage did not run for this build: there are no shooting scripts."
    c = script.get("counts", {})
    camera_kinds = load_schema("shooting_script")["definitions"]["camera_movement"]["properties"]["kind"]["enum"]
    kinds = ", ".join(f"{k.replace('_', ' ')} {c[f'camera_{k}']:,}" for k in camera_kinds if c.get(f"camera_{k}"))
    sizes = ", ".join(f"{c.get(f'shot_size_from_{k}', 0):,} from {k}" for k in ("extraction", "face", "nothing"))
    return (f"{c.get('scripts', 0):,} shooting script(s) (one per scene) from {c.get('shots', 0):,} shot(s) of "
            f"{script['tasks']:,} video(s). Camera movement measured: {kinds or 'none'}; not measured (source "
            f"video unreadable) for {c.get('camera_not_measured', 0):,} video(s). Shot sizes: {sizes}. "
            f"{c.get('people_located', 0):,} person(s) placed in 3D; the shot's camera fitted by the DLT for "
            f"{c.get('layout_fitted', 0):,} shot(s), too few points for {c.get('layout_too_few_points', 0):,}, "
            f"all at one depth for {c.get('layout_degenerate', 0):,}; {c.get('layout_speed_violations', 0):,} "
            "position(s) moved back to the speed limit.")


def highlights_summary(pipeline: list[dict[str, Any]]) -> str:
    """The highlight stage's curves, peaks, scored shots and missing components, from its summary."""
    stage = stage_in(pipeline, "highlight")
    if stage is None:
        return ("The highlight stage did not run for this build: there are no highlight curves and shots carry no "
                "`highlight_score`.")
    c = stage.get("counts", {})
    missing = [(key.removeprefix("curves_without_").split("_", 1), n) for key, n in sorted(c.items())
               if key.startswith("curves_without_")]
    missing_text = "; ".join(f"without {component} ({reason}) {n:,}" for (component, reason), n in missing)
    return (f"{c.get('curves', 0):,} curve(s) for {stage['tasks']:,} video(s) with {c.get('peaks', 0):,} peak(s); "
            f"{c.get('curves_not_made_no_signals', 0):,} video(s) had nothing to make a curve from. "
            f"{c.get('shots_scored', 0):,} shot(s) scored, {c.get('shots_not_scored', 0):,} not (no times or no "
            f"curve). Components missing: {missing_text or 'none'}.")


def dialogue_summary(pipeline: list[dict[str, Any]]) -> str:
    """The dialogue stage's lines by source, their speakers, and the frames' background music, from its summary."""
    stage = stage_in(pipeline, "dialogue")
    if stage is None:
        return "The dialogue stage did not run for this build: frames carry no dialogue lines and no measured bgm."
    c = stage.get("counts", {})
    unassigned = by_reason(c, "lines_unassigned_", ", ")
    return (f"{sum(c.get(f'lines_{s}', 0) for s in ('subtitle', 'speech', 'subtitle_and_speech')):,} line(s) of "
            f"dialogue in {stage['tasks']:,} video(s): {c.get('lines_subtitle', 0):,} from subtitles alone, "
            f"{c.get('lines_subtitle_and_speech', 0):,} from subtitles timed by speech, {c.get('lines_speech', 0):,} "
            f"transcribed; {c.get('speech_turns_without_text', 0):,} speech turn(s) without text (no ASR model). "
            f"Speaker assigned to {c.get('lines_assigned', 0):,}; unassigned: {unassigned or 'none'}. Background "
            f"music in {c.get('bgm_music', 0):,} frame(s), none in {c.get('bgm_no_music', 0):,}; bgm null without "
            f"an audio track in {c.get('bgm_null_no_audio_stream', 0):,}; not measured (source unreadable) for "
            f"{c.get('dialogue_not_measured', 0):,} video(s).")


def restorations_summary(pipeline: list[dict[str, Any]]) -> str:
    """The restore stage's pairs, the restorations dropped by reason and the scripts left without a pair."""
    stage = stage_in(pipeline, "restore")
    if stage is None:
        return "The restore stage did not run for this build: there are no pairs."
    c = stage.get("counts", {})
    dropped = by_reason(c, "restorations_dropped_", "; ")
    return (f"{c.get('pairs', 0):,} pair(s) from {c.get('scripts', 0):,} shooting script(s) of {stage['tasks']:,} "
            f"video(s); {c.get('restoration_requests', 0):,} request(s) to a model. Restorations dropped: "
            f"{dropped or 'none'}. {c.get('scripts_without_pairs', 0):,} script(s) kept no restoration (in the "
            "restore stage's `quarantine.jsonl` as `no_restoration`).")


#: what the paper reports (section 3.2, 500 dramas): keyframes invalid for motion blur or occlusion, and pre-extracted
#: key information unreadable or not in the JSON format; its overall loss rate of pre-extracted data is 4%
PAPER_INVALID_KEYFRAMES = (5_441, 134_093 + 5_441)
PAPER_JSON_LOSS = "about 4%"


def share(part: int, whole: int) -> str:
    """``part of whole (p%)``, or ``none to count`` for an empty whole."""
    return f"{part:,} of {whole:,} ({100 * part / whole:.1f}%)" if whole else "none to count"


def losses_table(pipeline: list[dict[str, Any]]) -> str:
    """This build's losses beside the paper's: invalid keyframes, key information not in JSON, lost after repair."""
    keyframes, repair = stage_in(pipeline, "keyframes"), stage_in(pipeline, "repair")
    rows = ["| loss | this build | paper (500 dramas) |", "| --- | ---: | ---: |"]
    paper_bad, paper_all = PAPER_INVALID_KEYFRAMES
    if keyframes:
        c = keyframes.get("counts", {})
        rows.append(f"| keyframes dropped: no sharp, unoccluded frame in their part of the shot | "
                    f"{share(c.get('keyframe_choices_without_acceptable_frame', 0), c.get('keyframe_choices', 0))} | "
                    f"{share(paper_bad, paper_all)} |")
    if repair:
        c = repair.get("counts", {})
        outcomes = {o: c.get(f"outcome_{o}", 0) for o in ("direct", "repaired_local", "repaired_llm", "lost")}
        total = sum(outcomes.values())
        if total:
            rows.append(f"| model answers not readable as the JSON asked for (repaired or lost) | "
                        f"{share(total - outcomes['direct'], total)} | {PAPER_JSON_LOSS} |")
            rows.append(f"| key information lost after repair (Table 6) | {share(outcomes['lost'], total)} | "
                        f"{PAPER_JSON_LOSS} (overall loss rate) |")
        else:
            rows.append(f"| model answers not readable as JSON | no model answers: the extraction backend "
                        f"wrote fields directly | {PAPER_JSON_LOSS} |")
    return "\n".join(rows)


def reasons_table(pipeline: list[dict[str, Any]]) -> str:
    """Failed tasks and quarantined items of every stage, by reason (from the stage summaries)."""
    rows = ["| stage | reason | count |", "| --- | --- | ---: |"]
    for summary in pipeline:
        if summary.get("failed"):
            rows.append(f"| {summary['stage']} | task failed (error) | {summary['failed']:,} |")
        rows += [f"| {summary['stage']} | {reason.replace('_', ' ')} | {n:,} |"
                 for reason, n in summary.get("quarantined_by_reason", {}).items()]
    return "\n".join(rows) if len(rows) > 2 else "Nothing was quarantined and no task failed."


def privacy_summary(pipeline: list[dict[str, Any]]) -> str:
    """The privacy stage's self-audit: frames passed at once, after more pixelation, or quarantined."""
    stage = stage_in(pipeline, "privacy")
    if stage is None:
        return "The privacy stage did not run for this build."
    c = stage.get("counts", {})
    prefix = "frames_passed_after_round_"
    rounds = ", ".join(f"{n:,} in round {key.removeprefix(prefix)}" for key, n in sorted(c.items())
                       if key.startswith(prefix))
    return (f"Self-audit (the detectors run again on every published image): {c.get('frames', 0):,} frame(s) "
            f"passed, {c.get('frames_repixelated', 0):,} of them after being pixelated harder ({rounds or 'none'}); {c.get('frames_failed_every_round', 0):,} failed every round and "
            f"{c.get('frames_quarantined', 0):,} were quarantined, never published. Protected: "
            f"{c.get('faces_on_keyframe', 0):,} face(s) found on the keyframes, "
            f"{c.get('faces_on_neighbours_only', 0):,} more found only on neighbouring frames, "
            f"{c.get('text_regions', 0):,} text region(s).")


def models_table(provenance: list[dict[str, Any]]) -> str:
    """The models, revisions, prompt and settings versions the records were made with (their provenance)."""
    if not provenance:
        return "No provenance (`provenance.json`) here."
    rows = ["| stage | model | revision | prompt sha256 | settings sha | records |", "| --- | --- | --- | --- | --- | ---: |"]
    order = {stage: i for i, stage in enumerate(STAGES)}
    for entry in sorted(provenance, key=lambda e: (order.get(e["stage"], len(order)), e.get("model") or "")):
        cells = [f"`{entry[k]}`" if entry.get(k) else "-" for k in ("model", "revision", "prompt_sha", "settings_sha")]
        rows.append(f"| {entry['stage']} | " + " | ".join(cells) + f" | {entry['records']:,} |")
    return "\n".join(rows)


def abridged(value: Any, items: int = 3, chars: int = 200) -> Any:
    """A record shortened for reading: lists cut to ``items`` (with a note of how many more), texts to ``chars``."""
    if isinstance(value, dict):
        return {k: abridged(v, items, chars) for k, v in value.items()}
    if isinstance(value, list):
        kept = [abridged(v, items, chars) for v in value[:items]]
        return kept + [f"... {len(value) - items} more"] if len(value) > items else kept
    if isinstance(value, str) and len(value) > chars:
        return value[:chars] + " ..."
    return value


def example_row(dataset_dir: Path, config: str) -> str:
    """The config's first row as ``load_dataset`` gives it: key, members and the record, abridged."""
    shards = shard_paths(dataset_dir / config)
    if not shards:
        return "Not built yet."
    sample = next(iter_shard(shards[0]), None)
    if sample is None:
        return "Its first shard is empty."
    members = ", ".join(f"`{name}` ({len(data) / 1024:,.1f} KiB)" for name, data in sorted(sample.members.items()))
    record = json.dumps(abridged(sample.record), ensure_ascii=False, indent=1)
    return (f"`__key__`: `{sample.key}`" + (f"; other members: {members}" if members else "")
            + f"; `json` (lists cut to 3 items, texts to 200 characters):\n\n```json\n{record}\n```")


def brace(dataset_dir: Path, config: str) -> str:
    """The config's shards as a WebDataset brace pattern (``frames/frames-{000000..000012}.tar``)."""
    names = [p.name for p in shard_paths(dataset_dir / config)]
    last = names[-1].removesuffix(".tar").rsplit("-", 1)[-1] if names else "000000"
    return f"{config}/{config}-{{000000..{last}}}.tar"


def render_card(dataset_dir: str | Path) -> str:
    """The full ``README.md`` text of a dataset folder."""
    dataset_dir = Path(dataset_dir)
    stats = {config: config_stats(dataset_dir, config) for config in CONFIG_OF_KIND.values()}
    if not any(s["shards"] for s in stats.values()):
        raise FileNotFoundError(f"{dataset_dir}: no shards under any of {list(CONFIG_OF_KIND.values())}")
    header = yaml.safe_dump(card_metadata(dataset_dir, stats), sort_keys=False, allow_unicode=True, width=120)
    count_rows = ["| config | examples | shards | size (MB) |", "| --- | ---: | ---: | ---: |"]
    for config, s in stats.items():
        count_rows.append(f"| `{config}` | {s['examples']:,} | {s['shards']} | {s['bytes'] / 1e6:,.1f} |"
                          if s["shards"] else f"| `{config}` | not built yet | 0 | 0 |")
    pipeline_file, provenance_file = dataset_dir / PIPELINE, dataset_dir / PROVENANCE
    pipeline = json.loads(pipeline_file.read_text(encoding="utf-8")) if pipeline_file.exists() else []
    provenance = json.loads(provenance_file.read_text(encoding="utf-8")) if provenance_file.exists() else []
    stage_rows = ["| stage | what | count |", "| --- | --- | ---: |"]
    for summary in pipeline:
        rows = {"tasks done": summary["done"], "tasks failed": summary["failed"], "written": summary["written"],
                "quarantined": summary["quarantined"], **summary.get("counts", {})}
        stage_rows += [f"| {summary['stage']} | {k} | {v:,} |" for k, v in rows.items()]
    body = Template(template_path().read_text(encoding="utf-8")).substitute(
        counts_table="\n".join(count_rows),
        build_notes=build_notes(pipeline),
        faces_summary=faces_summary(pipeline),
        dialogue_summary=dialogue_summary(pipeline),
        scripts_summary=scripts_summary(pipeline),
        highlights_summary=highlights_summary(pipeline),
        restorations_summary=restorations_summary(pipeline),
        losses_table=losses_table(pipeline),
        reasons_table=reasons_table(pipeline),
        privacy_summary=privacy_summary(pipeline),
        models_table=models_table(provenance),
        frames_shards=brace(dataset_dir, "frames"),
        **{f"example_{config}": example_row(dataset_dir, config) for config in CONFIG_OF_KIND.values()},
        stage_counts_table="\n".join(stage_rows) if pipeline else "No stage summaries (`pipeline.json`) here.",
        **{f"fields_{config}": fields_table(KIND_OF_CONFIG[config]) for config in CONFIG_OF_KIND.values()},
    )
    return f"---\n{header}---\n\n" + re.sub(r"\n{3,}", "\n\n", body)  # no gap where a note is empty


def write_card(dataset_dir: str | Path) -> Path:
    """Render and write ``DATASET_DIR/README.md``, then check it as the Hub reads it (:func:`check_card`);
    returns its path."""
    path = Path(dataset_dir) / "README.md"
    path.write_text(render_card(dataset_dir), encoding="utf-8")
    check_card(dataset_dir)
    return path
