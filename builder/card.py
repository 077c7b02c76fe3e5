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

from builder.contract import CONFIG_OF_KIND, KIND_OF_CONFIG, load_schema, resolve
from builder.features import row_features
from builder.shards import STATS_SUFFIX, shard_paths, stats_path

TEMPLATE_NAME = "dataset_card.md"
PIPELINE = "pipeline.json"  # the stage summaries that made the folder, written by publish
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
    return {**CARD_METADATA, "configs": configs, "dataset_info": infos}


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
    pipeline_file = dataset_dir / PIPELINE
    pipeline = json.loads(pipeline_file.read_text(encoding="utf-8")) if pipeline_file.exists() else []
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
        stage_counts_table="\n".join(stage_rows) if pipeline else "No stage summaries (`pipeline.json`) here.",
        **{f"fields_{config}": fields_table(KIND_OF_CONFIG[config]) for config in CONFIG_OF_KIND.values()},
    )
    return f"---\n{header}---\n\n" + re.sub(r"\n{3,}", "\n\n", body)  # no gap where a note is empty


def write_card(dataset_dir: str | Path) -> Path:
    """Render and write ``DATASET_DIR/README.md``; returns its path."""
    path = Path(dataset_dir) / "README.md"
    path.write_text(render_card(dataset_dir), encoding="utf-8")
    return path
