"""File loaders: Markdown, plain text, PDF, DOCX and HTML into Markdown-flavoured text.

Each loader returns a :class:`LoadedDocument` or raises :class:`IngestError` with a reason
an operator can act on. The parsing itself is done by maintained libraries:
python-frontmatter (front matter), charset-normalizer (GBK and other legacy encodings),
pypdf, python-docx, and BeautifulSoup + markdownify (HTML keeps its heading structure).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.documents import (
    DocMeta,
    IngestError,
    LoadedDocument,
    detect_lang,
    parse_meta,
    sha256_text,
)

SIDECAR_SUFFIX = ".meta.yaml"
_MIN_TEXT_CHARS = 1


def display_path(path: Path, root: Path | None = None) -> str:
    """A short path for messages: relative to ``root`` (or cwd) when possible."""
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise IngestError("is a directory, not a file") from None
    except FileNotFoundError:
        raise IngestError("cannot read file: it does not exist (broken link?)") from None
    except PermissionError:
        raise IngestError("cannot read file: permission denied") from None
    except OSError as err:
        raise IngestError(f"cannot read file: {err.strerror or err}") from None
    if not data.strip():
        raise IngestError("file is empty")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 first; otherwise let charset-normalizer find the encoding (GBK is common)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise IngestError("not a text file, or its encoding could not be detected")
    return str(best)


def _derived_meta(path: Path, text: str, title: str | None, extra: dict[str, Any]) -> DocMeta:
    """Metadata for files without front matter: ids from the file name, lang detected."""
    stem = path.name
    for suffix in (".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    if not slug:  # e.g. a Chinese file name
        slug = "doc-" + sha256_text(path.name)[:10]
    raw: dict[str, Any] = {
        "id": slug,
        "title": (title or stem).strip()[:300] or slug,
        "lang": detect_lang(text),
        "doc_type": "guide",
        "version": "1",
        "effective": date.fromtimestamp(path.stat().st_mtime),
        "sources": [f"file:{path.name}"],
    }
    raw.update(extra)
    return parse_meta(raw, where="metadata")


def _sidecar(path: Path) -> dict[str, Any]:
    """Optional ``<file>.meta.yaml`` next to a PDF/DOCX/HTML file, same keys as front matter."""
    side = path.with_name(path.name + SIDECAR_SUFFIX)
    if not side.exists():
        return {}
    try:
        loaded = yaml.safe_load(side.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise IngestError(f"bad metadata file {side.name}: {err}") from None
    if not isinstance(loaded, dict):
        raise IngestError(f"bad metadata file {side.name}: expected a mapping of fields")
    return loaded


def _first_heading(text: str) -> str | None:
    m = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE)
    return m.group(1).strip() if m else None


def _require_text(text: str, what: str = "no text") -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) < _MIN_TEXT_CHARS:
        raise IngestError(what)
    return text


def load_markdown(path: Path) -> tuple[DocMeta, str, bool]:
    """Markdown or plain text, with optional YAML front matter (validated when present)."""
    import frontmatter

    text = decode_text(_read_bytes(path))
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise IngestError(f"bad front matter: not valid YAML{where}") from None
    except Exception as err:  # python-frontmatter surfaces other handler errors as-is
        raise IngestError(f"bad front matter: {err}") from None
    body = _require_text(post.content, "file has front matter but no body text")
    if post.metadata:
        raw = {k: (v.date() if isinstance(v, datetime) else v) for k, v in post.metadata.items()}
        return parse_meta(raw), body, True
    if text.lstrip().startswith("---"):
        raise IngestError("bad front matter: the '---' block is empty or not a YAML mapping")
    return _derived_meta(path, body, _first_heading(body), {}), body, False


def load_pdf(path: Path) -> tuple[DocMeta, str, bool]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    data = _read_bytes(path)
    if not data.lstrip().startswith(b"%PDF"):
        raise IngestError("corrupt PDF: the file does not start with a PDF header")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise IngestError("PDF is encrypted; save an unencrypted copy")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        raise IngestError(f"corrupt or unreadable PDF: {err}") from None
    body = _require_text(
        "\n\n".join(p for p in pages if p),
        "PDF has no extractable text (scanned images need OCR, which is not supported)",
    )
    meta = _derived_meta(path, body, title or _first_heading(body), _sidecar(path))
    return meta, body, False


def load_docx(path: Path) -> tuple[DocMeta, str, bool]:
    """DOCX headings ('Heading N' / '标题 N' styles) become Markdown headings."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _read_bytes(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise IngestError(f"corrupt or unreadable DOCX: {err}") from None
    lines: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.search(r"(?:Heading|标题)\s*(\d)", style)
        if style == "Title":
            lines.append(f"# {text}")
        elif level:
            lines.append("#" * min(int(level.group(1)) + 1, 6) + " " + text)
        else:
            lines.append(text)
        lines.append("")
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            if any(cells):
                lines.append(" | ".join(cells))
        lines.append("")
    body = _require_text("\n".join(lines), "DOCX has no text")
    title = document.core_properties.title or _first_heading(body)
    return _derived_meta(path, body, title, _sidecar(path)), body, False


def load_html(path: Path) -> tuple[DocMeta, str, bool]:
    """HTML to Markdown (markdownify) so headings still drive chunking."""
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(decode_text(_read_bytes(path)), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    root = soup.body or soup
    body = markdownify(str(root), heading_style="ATX", strip=["a", "img"])
    body = re.sub(r"\n{3,}", "\n\n", body)
    body = _require_text(body, "HTML page has no text")
    extra = _sidecar(path)
    html_tag = soup.find("html")
    lang_attr = html_tag.get("lang") if html_tag is not None else None
    if isinstance(lang_attr, str) and "lang" not in extra:
        low = lang_attr.lower()
        if low.startswith("zh"):
            extra["lang"] = "zh"
        elif low.startswith("en"):
            extra["lang"] = "en"
    return _derived_meta(path, body, title or _first_heading(body), extra), body, False


Loader = Callable[[Path], tuple[DocMeta, str, bool]]

LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_markdown,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
}

SUPPORTED_SUFFIXES = tuple(sorted(LOADERS))


def is_candidate(path: Path) -> bool:
    """Files a folder scan picks up: supported types, not hidden, not '_draft' style."""
    from assistant.knowledge.bank import is_bank_file

    name = path.name
    if name.startswith((".", "_", "~$")) or name.endswith(SIDECAR_SUFFIX):
        return False
    return path.suffix.lower() in LOADERS or is_bank_file(path)


def load_document(
    path: Path, root: Path | None = None, *, knowledge_dir: Path | None = None
) -> LoadedDocument:
    """Load one file with the loader its suffix selects."""
    from assistant.knowledge import bank

    if bank.is_bank_file(path):
        params = bank.parameters(knowledge_dir or path.parent)
        return bank.load_bank(path, display_path(path, root), params)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(
            f"unsupported file type '{path.suffix or '(none)'}'; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    meta, text, has_fm = loader(path)
    return LoadedDocument(
        meta=meta, text=text, source=display_path(path, root), has_front_matter=has_fm
    )
