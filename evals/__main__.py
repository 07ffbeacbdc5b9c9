"""Entry point: ``python -m evals retrieval|dialogue|answers|routing|offtopic-themes|calibrate``."""

from __future__ import annotations

import argparse
import sys

import assistant  # noqa: F401  (offline environment first)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals")
    sub = parser.add_subparsers(dest="suite", required=True)
    ret = sub.add_parser("retrieval", help="hybrid retrieval against the golden set")
    ret.add_argument("--json", action="store_true", help="print one JSON object")
    ret.add_argument("--compare", action="store_true", help="also run the three baselines")
    ret.add_argument("--golden", default=None, help="golden set file (default: evals/golden)")
    ret.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting for this run, e.g. --set chunk_size=300 --set fusion=weighted",
    )
    ret.add_argument("--cases", action="store_true", help="print every case's outcome")
    dia = sub.add_parser("dialogue", help="scripted conversations through Assistant.chat")
    dia.add_argument("--json", action="store_true", help="print one JSON object")
    dia.add_argument("--cases", action="store_true", help="print every failing turn")
    dia.add_argument(
        "--golden", default=None, help="conversation file (default: golden/dialogue.yaml)"
    )
    dia.add_argument(
        "--split", choices=["dev", "test"], default=None, help="one split (real-phrasing set)"
    )
    ans = sub.add_parser("answers", help="answers to real-phrasing questions (dev/test split)")
    ans.add_argument("--json", action="store_true", help="print one JSON object")
    ans.add_argument("--split", choices=["dev", "test"], default=None, help="one split only")
    ans.add_argument("--cases", action="store_true", help="print every unacceptable answer")
    ans.add_argument("--golden", default=None, help="case file (default: real-questions.yaml)")
    ans.add_argument(
        "--calibrate", action="store_true", help="fit matcher weights and thresholds on dev"
    )
    rou = sub.add_parser("routing", help="routing of single turns (dev/test split)")
    rou.add_argument("--json", action="store_true", help="print one JSON object")
    rou.add_argument("--split", choices=["dev", "test"], default=None, help="one split only")
    rou.add_argument("--cases", action="store_true", help="print every misrouted turn")
    rou.add_argument(
        "--no-ablation", action="store_true", help="skip the runs without each cue-rule group"
    )
    sub.add_parser("offtopic-themes", help="declines on off-topic themes the bank has not seen")
    cal = sub.add_parser("calibrate", help="fit the retrieval confidence on the golden set")
    cal.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation")
    args = parser.parse_args(argv)

    if args.suite == "dialogue":
        from evals.dialogue import run_cli as dialogue

        return dialogue(args)
    if args.suite == "answers":
        from evals.answers import run_cli as answers

        return answers(args)
    if args.suite == "routing":
        from evals.routing import run_cli as routing

        return routing(args)
    if args.suite == "offtopic-themes":
        from evals.offtopic_themes import run_cli as themes

        return themes(args)
    if args.suite == "calibrate":
        from evals.calibrate import run_cli as calibrate

        return calibrate(args)
    from evals.retrieval import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
