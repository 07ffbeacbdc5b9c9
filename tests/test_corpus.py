"""Knowledge-base consistency: front matter, the sample policy, the FAQ and policy.yaml agree.

These tests read the shipped ``knowledge/`` folder with the real loader (front matter is
validated by ``DocMeta``); nothing is mocked and nothing touches the network.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cn2an
import pytest

from assistant.knowledge.documents import LoadedDocument, detect_lang
from assistant.knowledge.loaders import load_document
from assistant.knowledge.params import PolicyParams, load_policy_params

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
MD_FILES = sorted(KNOWLEDGE.rglob("*.md"))
LANGS = ("zh", "en")

POLICY_ID = "policy-domestic-tci"
MIN_CLAUSES = 30

# The documents the README table promises, without the -zh / -en suffix.
REQUIRED_DOCS = (
    "policy-domestic-tci",
    "guide-product",
    "guide-credit-terms",
    "guide-disputed-invoices",
    "guide-payment-plans",
    "guide-dso",
    "guide-cash-ratio",
    "guide-warning-signs",
    "guide-collections",
    "guide-sme-payment-rule",
)

# Field of knowledge/policy.yaml -> (clause that states it, how the clause writes it).
# The clause numbers are the ones the comments in policy.yaml name.
POLICY_NUMBERS: dict[str, tuple[int, str]] = {
    "policy_period_months": (5, "months"),
    "renewal_notice_days": (5, "days"),
    "credit_limit_application.answer_working_days": (13, "working_days"),
    "discretionary_limit.max_amount": (14, "amount"),
    "discretionary_limit.max_overdue_days_on_prior_orders": (14, "days"),
    "discretionary_limit.credit_report_max_age_months": (14, "months"),
    "max_credit_period_days": (17, "days"),
    "declaration_day_of_next_month": (18, "day_of_month"),
    "premium_payment_days": (19, "days"),
    "minimum_premium": (20, "amount"),
    "credit_limit_application.check_fee_per_buyer": (21, "amount"),
    "indemnity.approved_limit_pct": (22, "pct"),
    "indemnity.discretionary_limit_pct": (22, "pct"),
    "max_liability_multiple_of_premium": (23, "times"),
    "overdue.notification_days": (25, "days"),
    "overdue.mep_days": (26, "days"),
    "waiting_period_days": (27, "days"),
    "claim_deadline.insolvency_days_after_awareness": (28, "days"),
    "claim_deadline.default_days_after_notification_deadline": (28, "days"),
    "claim_payment_days": (32, "days"),
    "claim_deadline.dispute_days_after_judgment": (33, "days"),
    "recovery_remit_working_days": (35, "working_days"),
    "adverse_info_report_working_days": (37, "working_days"),
}

# How a number of each kind is written next to its unit; {n} is a number pattern.
UNIT_PATTERNS: dict[str, dict[str, str]] = {
    "zh": {
        "days": r"{n}\s*[日天]",
        "working_days": r"{n}\s*个工作日",
        "months": r"{n}\s*个月",
        "day_of_month": r"{n}\s*日",
        "pct": r"{n}\s*%",
        "times": r"{n}\s*倍",
        "amount": r"{n}",
    },
    "en": {
        "days": r"{n}\s+days?\b",
        "working_days": r"{n}\s+working\s+days?\b",
        "months": r"{n}\s+months?\b",
        "day_of_month": r"{n}(?:st|nd|rd|th)\b",
        "pct": r"{n}\s*%",
        "times": r"{n}\s+times\b",
        "amount": r"{n}",
    },
}

ZH_NUMERAL = "[零〇一二三四五六七八九十百]+"
ZH_CLAUSE_HEADING = re.compile(rf"^###\s+第({ZH_NUMERAL})条(?:\s+(.*))?$", re.M)
EN_CLAUSE_HEADING = re.compile(r"^###\s+Article\s+(\d+)\b(?:\s+(.*))?$", re.M)
ZH_CLAUSE_REF = re.compile(rf"第({ZH_NUMERAL})条")
EN_CLAUSE_REF = re.compile(r"\bArticle\s+(\d+)\b")
HEADING_UP_TO_3 = re.compile(r"^#{1,3}\s", re.M)

SEED_MIN_CHARS = 25


# --- helpers ----------------------------------------------------------------------------


@cache
def corpus() -> dict[str, LoadedDocument]:
    """Every Markdown document under knowledge/, by id (a duplicate id fails here)."""
    docs: dict[str, LoadedDocument] = {}
    for path in MD_FILES:
        doc = load_document(path, root=ROOT)
        assert doc.meta.id not in docs, f"duplicate id {doc.meta.id}: {path}"
        docs[doc.meta.id] = doc
    return docs


@cache
def policy_params() -> PolicyParams:
    return load_policy_params(KNOWLEDGE / "policy.yaml")


def zh_numeral(text: str) -> int:
    return int(cn2an.cn2an(text, "strict"))


@dataclass(frozen=True)
class Clause:
    number: int
    title: str
    text: str  # heading line plus body, up to the next heading of level 1-3


def clauses(lang: str) -> list[Clause]:
    """The policy's clauses in document order, found from its Markdown headings."""
    body = corpus()[f"{POLICY_ID}-{lang}"].text
    pattern = ZH_CLAUSE_HEADING if lang == "zh" else EN_CLAUSE_HEADING
    found = []
    for m in pattern.finditer(body):
        number = zh_numeral(m.group(1)) if lang == "zh" else int(m.group(1))
        nxt = HEADING_UP_TO_3.search(body, m.end())
        text = body[m.start() : nxt.start() if nxt else len(body)]
        found.append(Clause(number, (m.group(2) or "").strip(), text))
    return found


def clause_map(lang: str) -> dict[int, Clause]:
    return {c.number: c for c in clauses(lang)}


def cited_clauses(lang: str, refs: str) -> list[int]:
    if lang == "zh":
        return [zh_numeral(n) for n in ZH_CLAUSE_REF.findall(refs)]
    return [int(n) for n in EN_CLAUSE_REF.findall(refs)]


def field_value(params: PolicyParams, dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def number_forms(value: float, lang: str) -> list[str]:
    """Ways a document may write ``value``: 300000, 300,000 and (in Chinese) 30万."""
    if float(value).is_integer():
        n = int(value)
        forms = {str(n), f"{n:,}"}
        if lang == "zh" and n >= 10_000 and n % 10_000 == 0:
            forms.add(f"{n // 10_000}万")
    else:
        forms = {f"{value:g}"}
    return sorted(forms, key=len, reverse=True)


def states_number(text: str, value: float, kind: str, lang: str) -> bool:
    numbers = "|".join(re.escape(f) for f in number_forms(value, lang))
    # Not part of a longer number: "60" must not match inside "160" or "60,000".
    n = rf"(?<![\d.,])(?:{numbers})(?![\d]|[.,]\d)"
    return re.search(UNIT_PATTERNS[lang][kind].format(n=n), text) is not None


def normalise(text: str) -> str:
    """Compare text regardless of full-/half-width punctuation and line breaks."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def seed_dir() -> Path | None:
    for candidate in (ROOT.parent / "shared" / "seed", Path("/work/shared/seed")):
        if candidate.is_dir():
            return candidate
    return None


def seed_sentences(text: str) -> set[str]:
    """Sentences ending at 。！？ (either width), read both across and within lines.

    Web-extracted seed text breaks some sentences over lines, and runs list items into
    each other without punctuation; taking both readings keeps every real sentence.
    """
    text = unicodedata.normalize("NFKC", text)
    sentences: set[str] = set()
    for block in (text, *text.splitlines()):
        for piece in re.split(r"[。!?]", block):
            piece = normalise(piece)
            if len(piece) >= SEED_MIN_CHARS:
                sentences.add(piece)
    return sentences


# --- front matter -----------------------------------------------------------------------


def test_knowledge_folder_has_markdown_documents() -> None:
    assert len(MD_FILES) >= 2 * len(REQUIRED_DOCS)


@pytest.mark.parametrize("path", MD_FILES, ids=lambda p: p.relative_to(KNOWLEDGE).as_posix())
def test_every_document_has_valid_front_matter_with_sources(path: Path) -> None:
    doc = load_document(path, root=ROOT)  # raises IngestError on bad front matter
    assert doc.has_front_matter, f"{path.name}: no front matter"
    assert doc.meta.sources, f"{path.name}: no sources"
    assert all(s.strip() for s in doc.meta.sources)


def test_document_ids_are_unique() -> None:
    ids = Counter(load_document(p, root=ROOT).meta.id for p in MD_FILES)
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_counterpart_exists_and_points_back() -> None:
    docs = corpus()
    for doc_id, doc in docs.items():
        other_id = doc.meta.counterpart
        if other_id is None:
            continue
        assert other_id in docs, f"{doc_id}: counterpart {other_id} does not exist"
        other = docs[other_id].meta
        assert other.counterpart == doc_id, f"{other_id} does not point back to {doc_id}"
        assert other.lang != doc.meta.lang, f"{doc_id} and {other_id} share a language"
        assert other.doc_type == doc.meta.doc_type, f"{doc_id} and {other_id} differ in type"


def test_document_lang_matches_id_suffix_and_detected_language() -> None:
    for doc_id, doc in corpus().items():
        assert doc_id.endswith(f"-{doc.meta.lang}"), f"{doc_id}: lang is {doc.meta.lang}"
        assert detect_lang(doc.text) == doc.meta.lang, f"{doc_id}: body is not {doc.meta.lang}"


@pytest.mark.parametrize("base", REQUIRED_DOCS)
def test_required_document_exists_in_both_languages(base: str) -> None:
    docs = corpus()
    for lang in LANGS:
        assert f"{base}-{lang}" in docs
        assert docs[f"{base}-{lang}"].meta.counterpart == f"{base}-{'en' if lang == 'zh' else 'zh'}"


def test_every_document_in_the_readme_table_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The knowledge base", 1)[1].split("\n## ", 1)[0]
    listed = {
        doc_id
        for line in section.splitlines()
        if line.startswith("|")
        for doc_id in re.findall(r"`([a-z0-9][a-z0-9._-]*-(?:zh|en))`", line)
    }
    assert listed, "README lists no document ids"
    assert set(REQUIRED_DOCS) == {i.rsplit("-", 1)[0] for i in listed}
    assert listed <= set(corpus())


# --- the sample policy ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_sample_policy_has_consecutively_numbered_clauses(lang: str) -> None:
    numbers = [c.number for c in clauses(lang)]
    assert len(numbers) >= MIN_CLAUSES
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(c.title for c in clauses(lang)), "every clause heading has a title"


def test_sample_policy_languages_have_the_same_clause_numbers() -> None:
    assert set(clause_map("zh")) == set(clause_map("en"))


@pytest.mark.parametrize(("lang", "marker"), [("zh", "示例"), ("en", "sample")])
def test_sample_policy_says_it_is_sample_wording_near_the_top(lang: str, marker: str) -> None:
    body = corpus()[f"{POLICY_ID}-{lang}"].text
    after_title = re.sub(r"\A#\s.*\n", "", body.lstrip()).lstrip()
    assert marker in after_title[:400].lower(), f"the {lang} policy does not open as sample wording"


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("field", sorted(POLICY_NUMBERS))
def test_policy_yaml_number_appears_in_its_clause(field: str, lang: str) -> None:
    clause_no, kind = POLICY_NUMBERS[field]
    value = field_value(policy_params(), field)
    clause = clause_map(lang)[clause_no]
    assert states_number(clause.text, value, kind, lang), (
        f"policy.yaml {field} = {value} ({kind}) is not stated in {lang} clause {clause_no}"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_default_claim_deadline_day_count_appears_in_claim_clause(lang: str) -> None:
    params = policy_params()
    total = params.overdue.notification_days + (
        params.claim_deadline.default_days_after_notification_deadline
    )
    assert states_number(clause_map(lang)[28].text, total, "days", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_causes_of_loss_clauses_are_titled_with_their_names(lang: str) -> None:
    by_number = clause_map(lang)
    for key, cause in policy_params().causes_of_loss.items():
        name = getattr(cause, lang)
        assert cause.clause in by_number, f"causes_of_loss.{key}.clause {cause.clause} missing"
        assert name.casefold() in by_number[cause.clause].title.casefold(), (
            f"{lang} clause {cause.clause} is not titled '{name}'"
        )


# --- originality --------------------------------------------------------------------------


def test_no_document_copies_a_seed_sentence() -> None:
    seeds = seed_dir()
    if seeds is None:
        pytest.skip("shared/seed not found next to the repository or at /work/shared/seed")
    sentences = set()
    for path in sorted(seeds.glob("*.txt")):
        sentences |= seed_sentences(path.read_text(encoding="utf-8"))
    if not sentences:
        pytest.skip(f"no seed sentences of {SEED_MIN_CHARS}+ characters in {seeds}")
    texts = {doc_id: normalise(doc.text) for doc_id, doc in corpus().items()}
    for path in sorted(KNOWLEDGE.rglob("*.bank.yaml")):  # the answer bank too
        texts[path.name] = normalise(path.read_text(encoding="utf-8"))
    copied = [
        (doc_id, sentence)
        for doc_id, text in sorted(texts.items())
        for sentence in sorted(sentences)
        if sentence in text
    ]
    assert copied == []
