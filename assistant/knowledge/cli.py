"""Command lines for ingestion (``python ingest.py``) and a small search prompt.

Exit codes: 0 all files ingested; 1 at least one file failed (the rest were ingested,
or with --strict nothing was written); 2 bad settings or arguments; 3 params file invalid.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from assistant.config import Settings
from assistant.knowledge.index import (
    KnowledgeIndex,
    RoutingDataError,
    SourceMissingError,
    StrictAbortError,
    SyncReport,
)


class LineProgress:
    """Progress as plain lines for a log with no terminal: at most one line per ``every``
    seconds per phase, plus the phase's last step ("embed 4,096/12,957 (32%), 57/s, 72 s")."""

    def __init__(self, console: Console, every: float) -> None:
        self.console, self.every = console, every
        self.started = time.monotonic()
        self._last: dict[str, float] = {}
        self._phase_start: dict[str, float] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self._phase_start.setdefault(phase, now)
        last = self._last.get(phase)
        if done < total and last is not None and now - last < self.every:
            return
        if done == 0 and last is not None:
            return
        self._last[phase] = now
        rate = done / (now - start) if now > start and done else 0.0
        pct = f" ({done * 100 // total}%)" if total else ""
        self.console.print(
            f"{phase} {done:,}/{total:,}{pct}, {rate:,.0f}/s, {now - self.started:,.0f} s",
            highlight=False,
            soft_wrap=True,
        )


class RateColumn(ProgressColumn):
    """Chunks per second, the figure the ingestion benchmark reports too."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} chunks/s" if speed else "- chunks/s", style="cyan")


def _settings_or_exit(err_console: Console) -> Settings:
    from pydantic import ValidationError

    from assistant.knowledge.documents import format_validation_error

    try:
        return Settings()
    except ValidationError as err:
        err_console.print(f"[red]Invalid settings:[/red] {format_validation_error(err)}")
        raise SystemExit(2) from None


def _check_params(settings: Settings) -> list[str]:
    """Validate policy.yaml and rating.yaml next to the documents, if they are there."""
    from assistant.knowledge.params import (
        ParamsError,
        PolicyParams,
        RatingParams,
        load_params,
    )

    problems = []
    for name, model in (("policy.yaml", PolicyParams), ("rating.yaml", RatingParams)):
        path = settings.knowledge_dir / name
        if path.exists():
            try:
                load_params(path, model)
            except ParamsError as err:
                problems.append(str(err))
    return problems


def _summary(report: SyncReport) -> Table:
    table = Table(title="Ingestion summary" + (" (dry run)" if report.dry_run else ""))
    for col in ("added", "changed", "removed", "unchanged", "chunks", "failed", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(
        str(len(report.added)),
        str(len(report.changed)),
        str(len(report.removed)),
        str(len(report.unchanged)),
        str(report.chunks),
        str(len(report.failed)),
        f"{report.seconds:.2f}",
    )
    return table


def ingest_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ingest.py",
        description="Index the knowledge documents (Markdown, text, PDF, DOCX, HTML) into "
        "Chroma + BM25. Only new or edited files are processed.",
    )
    parser.add_argument(
        "paths", nargs="*", type=Path, help="files or folders (default: KNOWLEDGE_DIR)"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the whole index")
    parser.add_argument("--dry-run", action="store_true", help="report changes, write nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--strict", action="store_true", help="stop at the first failed file")
    parser.add_argument(
        "--progress-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="without a terminal (a container log, `make run > log`): one progress line on "
        "stderr at most this often (default 5)",
    )
    args = parser.parse_args(argv)

    out = Console()
    err = Console(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings_or_exit(err)

    problems = _check_params(settings)
    if problems:
        for p in problems:
            err.print(f"[red]Invalid parameters[/red] {p}")
        return 3

    index = KnowledgeIndex(settings)
    show_progress = not args.json and err.is_terminal
    started = time.perf_counter()
    from filelock import Timeout

    try:
        with _shared_ingest_lock(settings, args.dry_run):
            report = _sync(index, args, err, show_progress)
    except Timeout:
        err.print(
            "[red]Another ingestion held the index lock for 10 minutes[/red] (ingest.py or "
            "an admin-API job, here or on another machine); the index was not changed."
        )
        return 4
    except StrictAbortError as exc:
        elapsed = time.perf_counter() - started
        path, _, reason = str(exc).partition(": ")
        if args.json:
            payload = SyncReport(failed=[{"path": path, "reason": reason}], seconds=elapsed)
            print(json.dumps(payload.as_json() | {"aborted": True}, ensure_ascii=False))
        else:
            err.print(f"[red]FAILED[/red] {path}: {reason}")
            why = (
                ""
                if isinstance(exc, SourceMissingError | RoutingDataError)
                else "--strict: stopped at the first failure; "
            )
            err.print(f"{why}the index was not changed.")
        return 1

    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for f in report.failed:
            err.print(f"[red]FAILED[/red] {f['path']}: {f['reason']}")
        out.print(_summary(report))
        if report.ok and not report.dry_run:
            out.print(f"Index generation {report.generation} is live ({report.chunks} chunks).")
    return 0 if report.ok else 1


@contextmanager
def _shared_ingest_lock(settings: Settings, dry_run: bool) -> Iterator[None]:
    """With a configured database (``DATABASE_URL``, shared by replicas on several
    machines), hold its ingestion lock, the one the admin API's jobs take: one ingestion
    at a time across machines. Without one, the index's own file lock is enough."""
    if dry_run or not settings.database_url:
        yield
        return
    from assistant.storage import Store

    store = Store(settings.database_url)
    try:
        with store.ingest_lock(timeout=600):
            yield
    finally:
        store.close()


def _sync(
    index: KnowledgeIndex, args: argparse.Namespace, err: Console, bar_on: bool
) -> SyncReport:
    if bar_on:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                bar.update(tasks[phase], completed=done)

            return index.sync(
                args.paths or None,
                rebuild=args.rebuild,
                dry_run=args.dry_run,
                strict=args.strict,
                progress=progress,
            )
    lines = None if args.json else LineProgress(err, args.progress_every)
    return index.sync(
        args.paths or None,
        rebuild=args.rebuild,
        dry_run=args.dry_run,
        strict=args.strict,
        progress=lines,
    )


def search_main(argv: list[str] | None = None) -> int:
    """A plain hybrid-search prompt over the index (the chat replaces it in later versions)."""
    from assistant.retrieval import RetrievalEngine

    parser = argparse.ArgumentParser(prog="python -m assistant.knowledge", add_help=True)
    parser.add_argument("query", nargs="*", help="ask once and exit; without it, a prompt")
    parser.add_argument("-k", type=int, default=3)
    args = parser.parse_args(argv)
    out = Console()
    settings = _settings_or_exit(Console(stderr=True))
    engine = RetrievalEngine(KnowledgeIndex(settings), settings)

    def answer(q: str) -> None:
        result = engine.search(q, k=args.k)
        if result.no_good_answer:
            no = (
                "知识库里没有可靠的答案。"
                if result.lang == "zh"
                else "No good answer in the knowledge base."
            )
            out.print(f"[yellow]{no}[/yellow] (confidence {result.confidence:.2f})")
            return
        for rank, hit in enumerate(result.hits, 1):
            m = hit.metadata
            where = " > ".join(x for x in (m.get("title"), m.get("section")) if x)
            terms = ", ".join(hit.explanation.matched_terms[:6])
            out.print(f"[bold]{rank}. {where}[/bold]  ({m.get('doc_id')}; matched: {terms})")
            out.print(hit.text[:300].replace("\n", " "), highlight=False)
            out.print()

    if args.query:
        answer(" ".join(args.query))
        return 0
    out.print("知识库检索 / knowledge search. 输入问题，空行或 Ctrl-D 退出。")
    while True:
        try:
            q = input("? ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not q:
            break
        answer(q)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(ingest_main())
