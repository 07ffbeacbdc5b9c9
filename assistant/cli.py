"""Terminal front ends: an interactive chat and a one-shot ``ask``.

Both build the same :class:`~assistant.Assistant` as the server does, so what works here
works over HTTP. ``ask --json`` prints one ``Reply`` for scripts and for debugging.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel

from assistant.config import Settings, get_settings
from assistant.i18n import t


def _both(key: str) -> str:
    """The terminal speaks to either language: "中文 / English"."""
    return f"{t('zh', key)} / {t('en', key)}"


def _settings_or_exit(err: Console) -> Settings:
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        err.print(f"[red]Invalid settings:[/red] {exc}")
        raise SystemExit(2) from None


def _ensure_index(settings: Settings, err: Console) -> None:
    from assistant.knowledge.index import KnowledgeIndex

    if KnowledgeIndex(settings).read_manifest() is None:
        err.print("[yellow]No index yet: run `python ingest.py` (or `make run`) first.[/yellow]")
        raise SystemExit(3)


def _show(out: Console, reply: object) -> None:
    from assistant.models import Reply

    assert isinstance(reply, Reply)
    out.print(Markdown(reply.answer))
    for c in reply.citations:
        where = " > ".join(x for x in (c.title, c.section) if x)
        out.print(f"[dim][{c.n}] {where} ({c.doc_id})[/dim]", highlight=False)
    for call in reply.tool_calls:
        if call.name != "search_knowledge":
            out.print(f"[cyan]tool {call.name}[/cyan] {json.dumps(call.args, ensure_ascii=False)}")
    if reply.handoff:
        out.print(f"[green]handoff → lead {reply.lead_id}[/green]")
    if reply.suggestions:
        out.print("[dim]" + " · ".join(reply.suggestions) + "[/dim]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant")
    sub = parser.add_subparsers(dest="cmd", required=True)
    chat = sub.add_parser("chat", help="interactive chat in the terminal")
    chat.add_argument("--session", help="resume a session id")
    chat.add_argument("--lang", choices=["zh", "en"])
    ask = sub.add_parser("ask", help="ask one question and print the reply")
    ask.add_argument("message")
    ask.add_argument("--json", action="store_true", help="print the Reply as JSON")
    ask.add_argument("--session")
    ask.add_argument("--lang", choices=["zh", "en"])
    key = sub.add_parser("new-key", help="make an API key and its API_KEYS entry (hash)")
    key.add_argument("role", choices=["support", "admin"])
    sub.add_parser(
        "purge", help="erase sessions past SESSION_TTL_DAYS and leads past LEAD_RETENTION_DAYS"
    )
    args = parser.parse_args(argv)
    if args.cmd == "new-key":
        from assistant.api.auth import main as new_key

        return new_key(["new", args.role])

    out, err = Console(), Console(stderr=True)
    settings = _settings_or_exit(err)
    if args.cmd == "purge":
        from assistant.retention import purge_once
        from assistant.storage import Store

        counts = purge_once(Store.from_settings(settings), settings)
        out.print(json.dumps(counts))
        return 0
    _ensure_index(settings, err)
    from assistant.advisor import Assistant, InputError

    assistant = Assistant.from_settings(settings)
    if args.cmd == "chat":
        with out.status(_both("cli.loading")):
            assistant.warm_up()
    if args.cmd == "ask":
        try:
            reply = assistant.chat(
                args.message, session_id=args.session, lang=args.lang, channel="cli"
            )
        except InputError as exc:
            err.print(f"[red]{exc}[/red]")
            return 2
        if args.json:
            sys.stdout.write(reply.model_dump_json(indent=2) + "\n")
        else:
            _show(out, reply)
        return 0

    session = args.session
    mode = "LLM" if assistant.agent is not None else "grounded"
    out.print(
        Panel(
            f"{t('zh', 'cli.name')} {t('en', 'cli.name')} — {_both('cli.prompt')}  (mode: {mode})",
            expand=False,
        )
    )
    while True:
        try:
            text = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        if not text:
            break
        try:
            reply = assistant.chat(text, session_id=session, lang=args.lang, channel="cli")
        except InputError as exc:
            err.print(f"[red]{exc}[/red]")
            continue
        session = reply.session_id
        _show(out, reply)
    if session:
        out.print(f"[dim]session: {session}[/dim]")
    return 0
