"""The ``skyscript`` command: dataset commands here, annotation stages dispatched to ``annotate.<stage>``.

Exit status: 0 done (quarantined items included), 1 could not run or found invalid data, 2 bad usage or settings.
Every refusal prints one line (``skyscript COMMAND: error: ...``) on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from builder.contract import STAGES
from builder.errors import SkyscriptError

#: commands that need the ``annotate`` extra, as ``(module, function)`` called with the arguments after the command:
#: every stage (``annotate.<stage>.main``), the whole pipeline and ``config show``
ANNOTATE_COMMANDS = {**{stage: (f"annotate.{stage}", "main") for stage in STAGES},
                     "run": ("annotate.run", "main"), "config": ("annotate.run", "config_main")}


def _publish(args: argparse.Namespace) -> int:
    from builder.publish import publish

    report = publish(args.stage_dir, args.dataset_dir, max_count=args.max_count, allow_partial=args.allow_partial,
                     shards_multiple_of=args.shards_multiple_of)
    for config, count in report.counts.items():
        print(f"{config}: {count} sample(s)")
    print(f"wrote {len(report.shards)} shard(s) and {Path(args.dataset_dir) / 'README.md'}")
    return 0


def _card(args: argparse.Namespace) -> int:
    from builder.card import write_card

    print(write_card(args.dataset_dir))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from builder.validate import validate_paths

    report = validate_paths(args.paths, max_errors=args.max_errors)
    print(report.summary())
    return 0 if report.ok else 1


def _import_official(args: argparse.Namespace) -> int:
    from builder.official import import_official

    count = import_official(args.input, args.output)
    print(f"wrote {count} frame record(s) to {args.output}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from builder.show import loaded_configs

    for line in loaded_configs(args.dataset_dir, streaming=args.streaming):
        print(line)
    return 0


def _export(args: argparse.Namespace) -> int:
    from builder.fountain import export_fountain

    print(export_fountain(args.input, args.output, args.video))
    return 0


def _contact_sheet(args: argparse.Namespace) -> int:
    from builder.contact_sheet import render

    print(render(args.shots_file, args.output))
    return 0


def _push(args: argparse.Namespace) -> int:
    from builder.hub import push

    print(push(args.dataset_dir, args.repo_id, private=args.private, revision=args.revision).summary())
    return 0


def _verify(args: argparse.Namespace) -> int:
    from builder.hub import verify

    report = verify(args.source, shards_per_config=args.shards, revision=args.revision)
    print(report.summary())
    return 0 if report.ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skyscript", description=__doc__.splitlines()[0],
                                epilog="stages: " + ", ".join(f"skyscript {s} IN OUT" for s in STAGES)
                                + " (see `skyscript STAGE --help`)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("publish", help="sort a stage folder's samples into a dataset folder and render its card")
    s.add_argument("stage_dir", help="the last stage's OUT folder")
    s.add_argument("dataset_dir", help="the dataset folder to (re)build, e.g. skyscript-100m")
    s.add_argument("--max-count", type=int, default=None,
                   help="samples per shard in every config (default: 1000, pairs 50000)")
    s.add_argument("--allow-partial", action="store_true",
                   help="publish although some tasks of the chain failed (the card says so)")
    s.add_argument("--shards-multiple-of", type=int, default=1, metavar="N",
                   help="make every config's shard count a multiple of N (training ranks x DataLoader workers), "
                        "so each rank streams whole shards")
    s.set_defaults(run=_publish)
    s = sub.add_parser("card", help="re-render DATASET_DIR/README.md from its shards' stats")
    s.add_argument("dataset_dir")
    s.set_defaults(run=_card)
    s = sub.add_parser("validate", help="check shards, stage folders, dataset folders and .jsonl files")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--max-errors", type=int, default=20, help="errors to print (default 20)")
    s.set_defaults(run=_validate)
    s = sub.add_parser("import-official", help="convert the paper authors' sample-en.json into frame records")
    s.add_argument("input", metavar="IN.json")
    s.add_argument("output", metavar="OUT.jsonl")
    s.set_defaults(run=_import_official)
    s = sub.add_parser("show", help="print load_dataset of every config of a dataset folder that has shards")
    s.add_argument("dataset_dir")
    s.add_argument("--streaming", action="store_true")
    s.set_defaults(run=_show)
    s = sub.add_parser("contact-sheet", help="PNG grid of a video's keyframes, labelled with shot and timestamp")
    s.add_argument("shots_file", metavar="OUT/shots/VIDEO_ID.json")
    s.add_argument("-o", "--output", help="PNG path (default: beside the shots file)")
    s.set_defaults(run=_contact_sheet)
    s = sub.add_parser("export", help="a video's shooting scripts as a Fountain screenplay")
    s.add_argument("format", choices=["fountain"])
    s.add_argument("input", metavar="IN", help="a stage folder or a dataset folder holding shooting scripts")
    s.add_argument("output", metavar="OUT.fountain")
    s.add_argument("--video", help="the video to export (needed when IN holds several)")
    s.set_defaults(run=_export)
    s = sub.add_parser(
        "push", help="upload a dataset folder to a Hugging Face dataset repo (resumable, within the Hub's limits)",
        description="Upload a dataset folder (validated first, README.md with configs and dataset_info) to a dataset "
                    "repo, created when missing. Hub limits: at most 100 files per commit and about 128 commits per "
                    "hour; push commits 100 files at a time (shards first, README.md in the last commit) and at most "
                    "120 commits in any rolling hour, waiting when needed. A rerun skips the files already there with "
                    "the same content. Token: HF_TOKEN or the saved login.")
    s.add_argument("dataset_dir", help="a dataset folder made by `skyscript publish`")
    s.add_argument("repo_id", help="the dataset repo, e.g. user/skyscript-100m")
    s.add_argument("--private", action="store_true",
                   help="create the repo private (an existing public repo is refused)")
    s.add_argument("--revision", help="the branch to push to (created when missing; default main)")
    s.set_defaults(run=_push)
    s = sub.add_parser("verify", help="check a dataset folder or Hub dataset repo: card, counts, sampled shards",
                       description="Read the card's configs and dataset_info, check every config's counts against its "
                                   "shards' stats, and stream its first shard and random others, checking every "
                                   "sample as published (schema, members, the privacy hash). A path that exists is a "
                                   "folder, anything else a repo id. Exit 0 when all is well, 1 otherwise.")
    s.add_argument("source", metavar="REPO_ID_OR_DIR")
    s.add_argument("--shards", type=int, default=2,
                   help="shards read per config: the first and random others (default 2)")
    s.add_argument("--revision", help="the repo's branch, tag or commit (default main)")
    s.set_defaults(run=_verify)
    for stage in STAGES:
        sub.add_parser(stage, help=f"annotation stage (annotate.{stage}); needs the annotate extra", add_help=False)
    sub.add_parser("run", help="every stage in order, then publish: skyscript run VIDEOS OUT --config FILE",
                   add_help=False)
    sub.add_parser("config", help="skyscript config show --config FILE: the effective settings", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ANNOTATE_COMMANDS:
        module_name, function = ANNOTATE_COMMANDS[argv[0]]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            print(f"skyscript {argv[0]}: the annotation stack is missing ({exc}); "
                  "install it with `pip install 'skyscript-100m[annotate]'`", file=sys.stderr)
            return 1
        return getattr(module, function)(argv[1:])
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SkyscriptError as exc:
        print(f"skyscript {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except (OSError, ValueError) as exc:  # a missing file, a folder that is not what the command needs
        print(f"skyscript {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
