"""Chinese-aware chunking: headings first, then whole clauses, then sentence ends.

Peer systems cut Chinese policy text in the middle of a clause because they split on a
fixed character count. Here the unit of meaning is kept whole:

1. Markdown headings split the document into sections (LangChain's
   ``MarkdownHeaderTextSplitter``); the heading path becomes metadata.
2. Inside a section, lines that start a clause (``第二十五条`` / ``Article 25``) start a new
   unit, so a PDF or DOCX without headings is still cut at clause boundaries.
3. A unit that fits ``chunk_size`` is one chunk, never split. A longer one is split on
   sentence ends (。！？；, then . ! ? ;) by ``RecursiveCharacterTextSplitter`` with a
   length function in text units (CJK characters + latin words), with overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.knowledge.documents import LoadedDocument, sha256_text, text_units

# Bump when chunking output changes for the same input, so the index rebuilds.
CHUNKER_VERSION = "1"

_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4"), ("#####", "h5")]
_CN_NUM = "零〇一二三四五六七八九十百千两"
CLAUSE_RE = re.compile(
    rf"^\s*(?:\*\*)?(第[{_CN_NUM}\d]{{1,6}}条|(?:Article|Clause)\s+\d{{1,4}})(?:\*\*)?(?=[\s:：.、]|$)",
    re.IGNORECASE,
)
_BASIS_RE = re.compile(r"^\s*(?:依据|Basis)\s*[:：]\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)

SENTENCE_SEPARATORS = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    "! ",
    "? ",
    "; ",
    ". ",
    "，",
    ", ",
    " ",
    "",
]


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a document. ``embed_text`` carries the title/section context."""

    id: str
    text: str
    embed_text: str
    metadata: dict[str, str | int] = field(hash=False)


def clause_number(label: str) -> int:
    """'第二十五条' -> 25, 'Article 25' -> 25; -1 when the label is not a clause."""
    m = re.search(r"\d+", label)
    if m:
        return int(m.group())
    m2 = re.search(rf"第([{_CN_NUM}]+)条", label)
    if not m2:
        return -1
    import cn2an  # imported here: the no-change ingest path must stay fast

    try:
        return int(cn2an.cn2an(m2.group(1), "smart"))
    except ValueError:
        return -1


def _clause_label(text: str) -> str:
    m = CLAUSE_RE.match(text)
    return re.sub(r"\s+", " ", m.group(1)) if m else ""


def _split_clauses(body: str) -> list[str]:
    """Start a new unit at each line that opens a clause; text before the first stays."""
    units: list[list[str]] = [[]]
    for line in body.split("\n"):
        if CLAUSE_RE.match(line) and any(s.strip() for s in units[-1]):
            units.append([])
        units[-1].append(line)
    return [u for u in ("\n".join(lines).strip() for lines in units) if u]


class Chunker:
    """Splits a loaded document into :class:`Chunk` objects with clause metadata."""

    def __init__(self, chunk_size: int, chunk_overlap: int) -> None:
        from langchain_text_splitters import (
            MarkdownHeaderTextSplitter,
            RecursiveCharacterTextSplitter,
        )

        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._headers = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True)
        self._sentences = RecursiveCharacterTextSplitter(
            separators=SENTENCE_SEPARATORS,
            keep_separator="end",
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            length_function=text_units,
            strip_whitespace=True,
        )

    def _pieces(self, unit: str) -> list[str]:
        if text_units(unit) <= self.chunk_size:
            return [unit]
        return [p for p in self._sentences.split_text(unit) if p.strip()]

    def split(self, doc: LoadedDocument) -> list[Chunk]:
        if doc.entries:
            return self._split_bank(doc)
        chunks: list[Chunk] = []
        for section in self._headers.split_text(doc.text):
            # The header splitter joins paragraph lines with a Markdown hard break; turn
            # those back into blank lines so paragraph boundaries stay split points.
            body = section.page_content.replace("  \n", "\n\n").strip()
            if not body:
                continue
            # The H1 is the document title; the path users see starts below it.
            path = [section.metadata[k] for _, k in _HEADERS[1:] if k in section.metadata]
            leaf = path[-1] if path else ""
            heading_clause = _clause_label(leaf)
            for unit in _split_clauses(body):
                clause = _clause_label(unit) or heading_clause
                for piece in self._pieces(unit):
                    text = f"{leaf}\n{piece}" if leaf and not piece.startswith(leaf) else piece
                    chunks.append(self._make_chunk(doc, path, clause, text, len(chunks)))
        return chunks

    def _split_bank(self, doc: LoadedDocument) -> list[Chunk]:
        """An answer-bank entry is one unit of meaning: one chunk, never split."""
        from assistant.knowledge.bank import entry_metadata, entry_text

        chunks: list[Chunk] = []
        for entry in doc.entries:
            text = entry_text(entry["question"], entry["answer"], entry["basis"], doc.meta.lang)
            chunk = self._make_chunk(doc, [entry["question"]], "", text, len(chunks))
            chunk.metadata.update(entry_metadata(entry))
            chunks.append(chunk)
        return chunks

    def _make_chunk(
        self, doc: LoadedDocument, path: list[str], clause: str, text: str, seq: int
    ) -> Chunk:
        meta = doc.meta
        section = " > ".join(path)
        context = meta.title + (f" > {section}" if section else "")
        embed_text = f"{context}\n{text}"
        content_hash = sha256_text(embed_text)
        metadata: dict[str, str | int] = {
            "doc_id": meta.id,
            "title": meta.title,
            "section": section,
            "clause": clause,
            "clause_no": clause_number(clause) if clause else -1,
            "lang": meta.lang,
            "doc_type": meta.doc_type,
            "source": doc.source,
            "version": meta.version,
            "effective": meta.effective.isoformat(),
            "counterpart": meta.counterpart or "",
            "chunk_index": seq,
            "content_hash": content_hash,
        }
        if meta.doc_type == "faq" and path:
            metadata["question"] = path[-1]
            basis = _BASIS_RE.search(text)
            metadata["basis"] = basis.group(1) if basis else ""
        chunk_id = f"{meta.id}#{seq:04d}-{content_hash[:12]}"
        return Chunk(id=chunk_id, text=text, embed_text=embed_text, metadata=metadata)
