"""The answer bank: curated knowledge points (标准问 + 相似问 + one answer) as YAML data.

A bank file is ``knowledge/bank/<lang>/<name>.bank.yaml``::

    id: bank-zh-claims            # document id (front-matter rules)
    title: 理赔问答
    lang: zh
    version: "1"
    effective: 2026-01-01
    category: claims              # default category of the entries
    sources: ["..."]              # where the facts come from
    entries:
      - id: zh-claims-insolvency-deadline
        question: 客户破产了，多久之内必须索赔？
        similar: [客户倒闭了几天内要报案, ...]     # >= 6 (zh) / >= 4 (en)
        answer: |-
          {{ policy.claim_deadline.insolvency_days_after_awareness }}天内。...
        basis: policy-domestic-tci-zh 第二十八条
        related: [zh-claims-documents-common]
        sources: ["policy-domestic-tci-zh"]

Policy numbers in answers are Jinja2 placeholders rendered from ``policy.yaml`` and
``rating.yaml`` at ingest (sandboxed, undefined names are errors), so one edit of a
parameter changes every answer. ``{{ x | wan }}`` writes 20000 as 2万, ``{{ x | num }}``
as 20,000.

Each entry becomes one chunk (doc_type ``faq``) whose metadata carries the entry id,
category, related ids and every phrasing; the retriever embeds each phrasing and scores
the entry as one unit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.knowledge.documents import (
    DocMeta,
    IngestError,
    LoadedDocument,
    format_validation_error,
    parse_meta,
)

BANK_SUFFIX = ".bank.yaml"
MIN_SIMILAR = {"zh": 6, "en": 4}
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,95}$"
# A line that only announces what follows ("内容应包括：") must be followed by its items.
_OPENER = re.compile(r"[:：]\s*$")


class BankEntry(BaseModel):
    """One knowledge point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    category: str | None = Field(None, pattern=r"^[a-z_]{2,40}$")
    question: str = Field(min_length=2, max_length=200)
    similar: list[str] = Field(default_factory=list)
    answer: str = Field(min_length=10, max_length=2000)
    basis: str = Field(min_length=3, max_length=200)
    related: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)

    @field_validator("similar", "sources")
    @classmethod
    def _no_blanks(cls, value: list[str]) -> list[str]:
        if any(not str(v).strip() for v in value):
            raise ValueError("must not contain blank items")
        return [str(v).strip() for v in value]


class BankFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    lang: str
    version: str | int | float
    effective: date
    sources: list[str]
    category: str = Field(pattern=r"^[a-z_]{2,40}$")
    entries: list[BankEntry] = Field(min_length=1)


def is_bank_file(path: Path) -> bool:
    return path.name.lower().endswith(BANK_SUFFIX)


# -- placeholders ---------------------------------------------------------------------------


def _wan(value: Any) -> str:
    """20000 -> 2万, 300000 -> 30万, 12500 -> 1.25万 (how owners say amounts)."""
    number = float(value)
    if number >= 10000:
        text = f"{number / 10000:.4f}".rstrip("0").rstrip(".")
        return f"{text}万"
    return f"{number:g}"


def _num(value: Any) -> str:
    number = float(value)
    return f"{int(number):,}" if number == int(number) else f"{number:,.2f}"


@lru_cache(maxsize=8)
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters["wan"] = _wan
    env.filters["num"] = _num
    return env


def parameters(knowledge_dir: Path) -> dict[str, Any]:
    """What placeholders may name: ``policy.*`` and ``rating.*`` (the raw YAML mappings)."""
    out: dict[str, Any] = {}
    for name in ("policy", "rating"):
        path = knowledge_dir / f"{name}.yaml"
        out[name] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return out


def render(template: str, params: dict[str, Any]) -> str:
    """Fill ``{{ policy.x }}`` placeholders; an unknown name raises :class:`IngestError`."""
    if "{{" not in template and "{%" not in template:
        return template
    from jinja2 import TemplateError

    try:
        return str(_environment().from_string(template).render(**params))
    except TemplateError as err:
        raise IngestError(f"bad placeholder: {err}") from None


# -- loading -------------------------------------------------------------------------------


def _read(path: Path) -> BankFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise IngestError(f"cannot read file: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise IngestError(f"not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise IngestError("an answer-bank file must be a YAML mapping with 'entries'")
    try:
        return BankFile.model_validate(raw)
    except ValidationError as err:
        raise IngestError(f"bad answer-bank file: {format_validation_error(err)}") from None


def entry_text(question: str, answer: str, basis: str, lang: str) -> str:
    """How an entry reads as a chunk: the FAQ layout (heading, answer, basis line)."""
    word = "依据：" if lang == "zh" else "Basis: "
    return f"{question}\n{answer.strip()}\n\n{word}{basis}"


def load_bank(path: Path, source: str, params: dict[str, Any]) -> LoadedDocument:
    """A bank file as a document whose ``entries`` carry rendered answers."""
    bank = _read(path)
    meta: DocMeta = parse_meta(
        {
            "id": bank.id,
            "title": bank.title,
            "lang": bank.lang,
            "doc_type": "faq",
            "version": str(bank.version),
            "effective": bank.effective,
            "sources": bank.sources,
        },
        where="bank header",
    )
    seen: set[str] = set()
    entries: list[dict[str, Any]] = []
    for entry in bank.entries:
        if entry.id in seen:
            raise IngestError(f"entry id '{entry.id}' appears twice")
        seen.add(entry.id)
        try:
            answer = render(entry.answer, params).strip()
        except IngestError as err:
            raise IngestError(f"entry {entry.id}: {err.reason}") from None
        entries.append(
            {
                "entry_id": entry.id,
                "category": entry.category or bank.category,
                "question": entry.question.strip(),
                "similar": entry.similar,
                "answer": answer,
                "basis": entry.basis.strip(),
                "related": entry.related,
            }
        )
    text = "\n\n".join(
        f"### {e['question']}\n{entry_text('', e['answer'], e['basis'], meta.lang).strip()}"
        for e in entries
    )
    return LoadedDocument(
        meta=meta,
        text=f"# {meta.title}\n\n{text}",
        source=source,
        has_front_matter=True,
        entries=tuple(entries),
    )


def entry_metadata(entry: dict[str, Any]) -> dict[str, str]:
    """Chunk metadata of an entry (Chroma takes scalars: lists travel as JSON)."""
    return {
        "question": entry["question"],
        "basis": entry["basis"],
        "entry_id": entry["entry_id"],
        "category": entry["category"],
        "related": json.dumps(entry["related"], ensure_ascii=False),
        "similar": json.dumps(entry["similar"], ensure_ascii=False),
    }


def phrasings(metadata: dict[str, Any]) -> list[str]:
    """Every way a chunk's entry is asked: the standard question, then its similar ones."""
    question = str(metadata.get("question") or "")
    similar = json.loads(str(metadata.get("similar") or "[]"))
    return [q for q in dict.fromkeys([question, *similar]) if q]


# -- checking (``python -m assistant.knowledge.bank check``) ---------------------------------


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[。！？!?])|(?<=[.;；])\s+", text)
    return [p for p in (x.strip() for x in parts) if len(p) > 1]


LIST_ITEM = re.compile(r"^([-*•]|\d+[.、)]|[（(]?[一二三四五六七八九十\d]+[)）、])")
# A line that talks about the document instead of the subject ("本文按…的顺序展开").
ABOUT_DOC = re.compile(
    r"^(本文|本指南|本篇|本章|本节|下文|以下(将|按)|this (guide|article|document|page|section)|"
    r"in this (guide|article))",
    re.I,
)


def fragment_problems(text: str) -> list[str]:
    """Lines a reader would see as broken: an opener ("…：") with no list under it, a line
    about the document itself, or a stub under 12 characters. A list item, and an opener
    followed by its items ("您是不是想问：" + 1. 2. 3.), a quote ("> …") or a table, are whole
    however short."""
    problems = []
    content = [ln.strip() for ln in text.split("\n") if ln.strip()]
    for pos, line in enumerate(content):
        bare = re.sub(r"\s*\[\d+\]\s*", "", line).replace("**", "").strip()
        following = content[pos + 1] if pos + 1 < len(content) else ""
        opener = bool(_OPENER.search(bare))
        if opener and not (LIST_ITEM.match(following) or following.startswith((">", "|"))):
            problems.append(f"opener without its list: {bare[:40]}")
        if ABOUT_DOC.match(bare):
            problems.append(f"line about the document itself: {bare[:40]}")
        if len(bare) < 12 and not LIST_ITEM.match(bare) and not opener:
            problems.append(f"line under 12 characters: {bare}")
    return problems


def check_files(paths: Iterable[Path], knowledge_dir: Path) -> tuple[int, list[str]]:
    """Validate bank files together: schema, counts, ids, one owner per phrasing, related
    links, basis targets, placeholders, fragments and literal policy numbers. Returns
    (entries, problems)."""
    from assistant.knowledge.policy_numbers import literal_policy_numbers

    params = parameters(knowledge_dir)
    docs = _document_headings(knowledge_dir)
    problems: list[str] = []
    ids: dict[str, str] = {}
    related: list[tuple[str, str, str]] = []
    phrasing_owner: dict[tuple[str, str], str] = {}
    count = 0
    for path in paths:
        try:
            bank = _read(path)
        except IngestError as err:
            problems.append(f"{path}: {err.reason}")
            continue
        for e in bank.entries:
            count += 1
            where = f"{path.name}:{e.id}"
            if e.id in ids:
                problems.append(f"{where}: id also used in {ids[e.id]}")
            ids[e.id] = path.name
            if not e.id.startswith(f"{bank.lang}-"):
                problems.append(f"{where}: id must start with '{bank.lang}-'")
            need = MIN_SIMILAR.get(bank.lang, 4)
            if len(set(e.similar)) < need:
                problems.append(f"{where}: {len(set(e.similar))} similar questions, need {need}")
            related += [(where, r, bank.lang) for r in e.related]
            for text in dict.fromkeys([e.question, *e.similar]):
                key = (bank.lang, re.sub(r"[\s?？!！。,，.]+", "", text).casefold())
                other = phrasing_owner.setdefault(key, e.id)
                if other != e.id:
                    problems.append(f"{where}: phrasing '{text}' also belongs to {other}")
            try:
                answer = render(e.answer, params)
            except IngestError as err:
                problems.append(f"{where}: {err.reason}")
                continue
            n = len(_sentences(answer))
            if not 2 <= n <= 7:
                problems.append(f"{where}: answer has {n} sentences (2-6 wanted)")
            problems += [f"{where}: {p}" for p in fragment_problems(answer)]
            problems += [f"{where}: {p}" for p in literal_policy_numbers(e.answer, params)]
            doc_id, _, label = e.basis.partition(" ")
            if doc_id not in docs:
                problems.append(f"{where}: basis document '{doc_id}' not found")
            elif label and label.strip() not in docs[doc_id]:
                problems.append(f"{where}: basis '{label}' is no heading of {doc_id}")
    for where, rid, _lang in related:
        if rid not in ids:
            problems.append(f"{where}: related id '{rid}' not found")
    return count, problems


def _document_headings(knowledge_dir: Path) -> dict[str, set[str]]:
    """doc id -> its headings (and clause labels), for checking ``basis`` lines."""
    import frontmatter

    out: dict[str, set[str]] = {}
    for path in sorted(knowledge_dir.rglob("*.md")):
        try:
            post = frontmatter.load(path)
        except Exception:
            continue
        doc_id = str(post.metadata.get("id") or "")
        if not doc_id:
            continue
        heads: set[str] = set()
        for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", post.content, re.MULTILINE):
            head = m.group(1).strip()
            heads.add(head)
            clause = re.match(r"(第[零〇一二三四五六七八九十百千两\d]+条|Article \d+)", head)
            if clause:
                heads.add(clause.group(1))
        out[doc_id] = heads
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    from assistant.config import get_settings

    parser = argparse.ArgumentParser(prog="python -m assistant.knowledge.bank")
    parser.add_argument("command", choices=["check"])
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    kdir = get_settings().knowledge_dir
    paths = args.paths or [kdir]
    files = [
        p
        for root in paths
        for p in (sorted(root.rglob(f"*{BANK_SUFFIX}")) if root.is_dir() else [root])
        if root.is_file() or not p.name.startswith("_")  # "_" files are not indexed
    ]
    count, problems = check_files(files, kdir)
    for p in problems:
        print(p)
    print(f"{len(files)} files, {count} entries, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
