"""Knowledge answers that say only what the knowledge base says.

Grounded mode never writes new claims. A question is first matched against the answer
bank (:mod:`assistant.matching`), each entry scored as a unit over all its phrasings:

- at or above the answer threshold, the entry's curated answer, citing its basis;
- between the thresholds, "您是不是想问：" with up to three entries (``suggestions``);
- an off-topic exemplar (信用卡逾期, 车险理赔…) that matches, a polite decline naming it;
- otherwise whole passages (a clause with all its items, a guide paragraph under its
  heading) in document order, each cited; with low retrieval confidence, a decline.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from assistant.i18n import t
from assistant.knowledge.bank import ABOUT_DOC, LIST_ITEM, fragment_problems
from assistant.knowledge.chunking import clause_number
from assistant.knowledge.documents import detect_lang, text_units
from assistant.matching import OFFTOPIC, EntryMatch
from assistant.models import Citation
from assistant.retrieval import Explanation, Hit, RetrievalEngine, RetrievalResult

_BASIS_RE = re.compile(
    r"^\s*(?:依据|Basis)\s*[:：]\s*(\S+)(?:\s+(.+?))?\s*$", re.MULTILINE | re.IGNORECASE
)
_SENT_RE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;]+|$)|[^.\n]+(?:\.(?=\s|$)|$)")
_STOP = set(
    [
        "的",
        "了",
        "是",
        "吗",
        "呢",
        "吧",
        "啊",
        "我",
        "你",
        "我们",
        "你们",
        "他",
        "她",
        "它",
        "这",
        "那",
        "有",
        "在",
        "和",
        "与",
        "及",
        "或",
        "就",
        "都",
        "也",
        "还",
        "要",
        "会",
        "能",
        "可以",
        "怎么",
        "如何",
        "什么",
        "多少",
        "哪些",
        "一个",
    ]
)
_STOP_EN = set(
    [
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "be",
        "do",
        "does",
        "did",
        "i",
        "we",
        "you",
        "my",
        "our",
        "your",
        "it",
        "this",
        "that",
        "what",
        "how",
        "when",
        "which",
        "who",
        "can",
        "will",
        "would",
        "should",
        "with",
        "and",
        "or",
    ]
)


@dataclass
class KnowledgeAnswer:
    body: str
    citations: list[Citation]
    result: RetrievalResult | None
    kind: str  # "faq" | "passage" | "suggest" | "offtopic" | "none"
    passages: list[Hit] = field(default_factory=list)
    matches: list[EntryMatch] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # questions to offer as chips
    entry_ids: list[str] = field(default_factory=list)  # the entry answered, or those offered
    alternatives: list[str] = field(default_factory=list)  # runner-ups offered with an answer

    @property
    def confidence(self) -> float:
        return self.result.confidence if self.result is not None else 0.0

    def log_record(self) -> dict[str, Any]:
        """What the support team's unanswered log keeps about this answer."""
        return {
            "kind": self.kind,
            "confidence": round(self.confidence, 4),
            "entry_ids": self.entry_ids,
            "alternatives": self.alternatives,
            "top": [m.as_dict() for m in self.matches[:5]],
        }


def snippet(text: str, limit: int = 220) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def citation_for(n: int, hit: Hit) -> Citation:
    m = hit.metadata
    return Citation(
        n=n,
        doc_id=str(m.get("doc_id", "")),
        title=str(m.get("title", "")),
        section=str(m.get("section", "")),
        clause=str(m.get("clause", "")),
        snippet=snippet(_body_of(hit)),
        source=str(m.get("source", "")),
        score=round(float(hit.score), 4),
    )


def _body_of(hit: Hit) -> str:
    """Chunk text without its heading line and the FAQ 'basis' line."""
    lines = hit.text.split("\n")
    section_leaf = str(hit.metadata.get("section", "")).split(" > ")[-1]
    if lines and section_leaf and lines[0].strip() == section_leaf.strip():
        lines = lines[1:]
    text = "\n".join(lines)
    return _BASIS_RE.sub("", text).strip()


def _tokens(engine: RetrievalEngine, text: str) -> set[str]:
    toks = engine.index.tokenizer.tokens(text)
    return {
        t
        for t in toks
        if t.strip() and t not in _STOP and t.lower() not in _STOP_EN and not t.isdigit()
    }


_YES_NO_Q = re.compile(
    r"吗|么[？?]?$|能不能|是不是|可不可以|有没有|会不会|要不要|行不行|对不对|算不算|"
    r"^(is|are|do|does|did|can|could|will|would|should|shall|have|has|may|must)\b",
    re.IGNORECASE,
)
_VERDICT = re.compile(
    r"^(不是|是的|可以|不可以|不能|能|不会|会|不一定|不需要|需要|不用|不行|有|没有|不一样|一样)[。，,！!]|"
    r"^(no|yes|not necessarily|possibly|usually|generally)[.,!]\s*",
    re.IGNORECASE,
)
_CLAUSE_REF = re.compile(r"第[一二三四五六七八九十百]+条|Article \d+")
_SPLIT = re.compile(r"(?<=[。！？!?；;])|(?<=[.])\s+(?=[A-Z0-9\"“(])")


def _sentences(text: str) -> list[str]:
    """Sentences of a passage, without table rows, headings or list markers."""
    out = []
    for para in text.split("\n"):
        para = para.replace("**", "").replace("__", "").strip()
        if not para or para.startswith(("|", "#", "---")):
            continue
        para = re.sub(r"^([-*•]|\d+[.、)]|[（(][一二三四五六七八九十\d]+[)）])\s*", "", para)
        for piece in _SPLIT.split(para):
            piece = piece.strip()
            if len(piece) < 6:
                continue
            if piece.count("“") != piece.count("”") or piece.count('"') % 2:
                continue  # a quotation cut in half reads as our own claim
            out.append(piece)
    return out


class Answerer:
    """Builds grounded knowledge answers from a retrieval engine."""

    def __init__(self, engine: RetrievalEngine) -> None:
        self.engine = engine

    def clause_hit(self, doc_id: str, clause_no: int) -> Hit | None:
        """The chunk holding a policy clause, for citing a clause a tool or FAQ names."""
        for rec in self.engine.records:
            m = rec.metadata
            if m.get("doc_id") == doc_id and int(m.get("clause_no", -1)) == clause_no:
                return _hit(rec.id, rec.text, m)
        return None

    def section_hit(self, doc_id: str, heading: str) -> Hit | None:
        """The first chunk under a heading (a guide section, or a chapter of the policy),
        for citing the basis an entry names."""
        for rec in self.engine.records:
            m = rec.metadata
            if m.get("doc_id") == doc_id and heading in str(m.get("section", "")).split(" > "):
                return _hit(rec.id, rec.text, m)
        return None

    def entry_hit(self, match: EntryMatch) -> Hit:
        rec = self.engine.records[match.row]
        hit = _hit(rec.id, rec.text, rec.metadata)
        hit.score = match.score
        return hit

    def answer(self, query: str, lang: str, *, k: int = 5) -> KnowledgeAnswer:
        cal = self.engine.matcher.cal
        asked_in = detect_lang(query)
        matches = offtopic_checked(self.engine.match_entries(query, asked_in, 8), cal["veto"])
        if asked_in != lang:
            # Asked in one language for a reply in the other ("逾期申报期限是多久？" with
            # lang="en"): the entry is matched in the question's language and answered by
            # its twin in the reply's language (or by passages when it has none).
            twins = [self.engine.matcher.twin(m, lang) for m in matches]
            matches = [m for m in twins if m is not None] if twins and twins[0] else []
        top = matches[0] if matches else None
        if top is not None and top.category == OFFTOPIC and top.score >= cal["suggest"]:
            # Near-miss off-topic (信用卡逾期, 车险理赔): the exemplar's polite decline.
            body = _body_of(self.entry_hit(top))
            return KnowledgeAnswer(
                body, [], None, "offtopic", matches=matches, entry_ids=[top.entry_id]
            )
        if top is not None and top.score >= cal["answer"]:
            ka = self._entry(top, yes_no=_YES_NO_Q.search(query) is not None)
            ka.matches = matches
            # A runner-up nearly as close: answer, and offer it too ("did you mean …").
            alts = [
                m
                for m in matches[1:]
                if m.category != OFFTOPIC
                and m.score >= cal["suggest"]
                and top.score - m.score <= cal["margin"]
            ][:2]
            if alts:
                lines = [t(lang, "knowledge.or_did_you_mean")]
                lines += [f"{i}. {m.question}" for i, m in enumerate(alts, 1)]
                ka.body += "\n\n" + "\n".join(lines)
                ka.suggestions = [m.question for m in alts] + ka.suggestions[:1]
                ka.alternatives = [m.entry_id for m in alts]
            return ka
        offers = [m for m in matches if m.category != OFFTOPIC and m.score >= cal["suggest"]]
        if offers:
            questions = [m.question for m in offers[:3]]
            lines = [t(lang, "knowledge.did_you_mean")]
            lines += [f"{i}. {q}" for i, q in enumerate(questions, 1)]
            return KnowledgeAnswer(
                "\n".join(lines),
                [],
                None,
                "suggest",
                matches=matches,
                suggestions=questions,
                entry_ids=[m.entry_id for m in offers[:3]],
            )
        ka = self._passages(query, lang, k)
        ka.matches = matches
        return ka

    def related_questions(self, match: EntryMatch) -> list[str]:
        """Questions of the entries an entry names as related (follow-up chips)."""
        by_id = self.engine.matcher.by_entry_id
        return [by_id[r] for r in match.related if r in by_id and r != match.entry_id][:3]

    def _entry(self, match: EntryMatch, *, yes_no: bool = True) -> KnowledgeAnswer:
        hit = self.entry_hit(match)
        citations = [citation_for(1, hit)]
        paras = [p.strip() for p in _body_of(hit).split("\n") if p.strip()]
        if paras and not yes_no:
            # The entry's "不是。" answered its own yes/no question; the user asked another kind.
            paras[0] = _VERDICT.sub("", paras[0], count=1).strip() or paras[0]
        body = "\n\n".join(f"{p} [1]" for p in paras)
        ref = self._basis_hit(str(hit.metadata.get("basis", "")))
        if ref is not None:
            citations.append(citation_for(2, ref))
            body += f"\n\n{_basis_label(ref, str(hit.metadata.get('lang', 'zh')))} [2]"
        ka = KnowledgeAnswer(body, citations, None, "faq", [hit], entry_ids=[match.entry_id])
        ka.suggestions = self.related_questions(match)
        return ka

    def _basis_hit(self, basis: str) -> Hit | None:
        doc_id, _, label = basis.strip().partition(" ")
        if not label:
            return None
        no = clause_number(label) if _CLAUSE_REF.match(label) else -1
        if no > 0:
            return self.clause_hit(doc_id, no)
        return self.section_hit(doc_id, label.strip())

    def _passages(self, query: str, lang: str, k: int) -> KnowledgeAnswer:
        result = self.engine.search(query, k + PASSAGE_EXTRA)
        if detect_lang(query) != lang and result.confident:
            # Asked in one language for a reply in the other ("逾期申报期限是多久？" with
            # lang="en"): the gate judged the question; the passages come from the
            # reply's language so the answer is in it.
            other = self.engine.search(query, k + PASSAGE_EXTRA, lang=lang)
            if other.hits:
                result = dataclasses.replace(other, confidence=result.confidence, confident=True)
        if result.no_good_answer or not result.hits:
            return KnowledgeAnswer("", [], result, "none")
        hits = [h for h in result.hits if h.metadata.get("lang") == lang] or result.hits
        if hits[0].metadata.get("category") == OFFTOPIC:
            return KnowledgeAnswer("", [], result, "none")
        # Whole units of the sample wording and the guides: a bank entry that did not
        # match the question closely enough to be offered answers another question.
        hits = [h for h in hits if not h.metadata.get("entry_id")]
        if not hits:
            return KnowledgeAnswer("", [], result, "none")
        ka = self._whole_units(query, hits, result, lang)
        if not ka.body:
            return KnowledgeAnswer("", [], result, "none")
        return self._with_clause(ka, query, hits, lang)

    def _whole_units(
        self, query: str, hits: list[Hit], result: RetrievalResult, lang: str
    ) -> KnowledgeAnswer:
        """The best passage as a whole unit, and a second one when it also speaks to the
        question, in document order, trimmed at a sentence end, each under its heading."""
        q = _tokens(self.engine, query)
        picked = [hits[0]]
        for hit in hits[1:3]:
            if hit.metadata.get("doc_type") == "faq" and hit.metadata.get("category") == OFFTOPIC:
                continue
            shared = len(q & _tokens(self.engine, hit.text))
            if shared >= max(2, len(q) // 2) and hit.metadata.get("doc_id") == hits[0].metadata.get(
                "doc_id"
            ):
                picked.append(hit)
                break
        picked.sort(key=lambda h: int(h.metadata.get("chunk_index", 0)))
        cap = PASSAGE_CAP_UNITS // len(picked)
        blocks: list[str] = []
        citations: list[Citation] = []
        used: list[Hit] = []
        for hit in picked:
            text = _whole_unit_text(hit, cap)
            if not text:
                continue
            n = len(citations) + 1
            citations.append(citation_for(n, hit))
            used.append(hit)
            blocks.append(f"**{_unit_heading(hit)}**\n{text} [{n}]")
        return KnowledgeAnswer("\n\n".join(blocks), citations, result, "passage", used)

    def _with_clause(
        self, ka: KnowledgeAnswer, query: str, hits: list[Hit], lang: str
    ) -> KnowledgeAnswer:
        """Add the sample clause behind an answer when retrieval found one and the answer
        does not cite any: a guide says it plainly, the clause is what governs."""
        if any(c.doc_id.startswith("policy-") for c in ka.citations):
            return ka
        q = _tokens(self.engine, query)
        clause: Hit | None = None
        named = _CLAUSE_REF.search(ka.body)  # "(sample Article 17)" in a guide sentence
        if named:
            doc_id = next(
                (str(h.metadata["doc_id"]) for h in hits if h.metadata.get("doc_type") == "policy"),
                None,
            )
            doc_id = doc_id or f"policy-domestic-tci-{lang}"
            clause = self.clause_hit(doc_id, clause_number(named.group(0)))
        if clause is None:
            for h in hits:
                if (
                    h.metadata.get("doc_type") == "policy"
                    and len(q & _tokens(self.engine, h.text)) >= 3
                ):
                    clause = h
                    break
        sents = _sentences(_body_of(clause)) if clause is not None else []
        if clause is None or not sents or not clause.metadata.get("clause"):
            return ka
        best = max(sents, key=lambda x: len(q & _tokens(self.engine, x)))
        if fragment_problems(best):
            return ka
        n = len(ka.citations) + 1
        label = clause.metadata["clause"]
        quote = t(lang, "knowledge.clause_quote", label=label, text=best)
        ka.body += f"\n\n{quote} [{n}]"
        ka.citations.append(citation_for(n, clause))
        ka.passages.append(clause)
        return ka


PASSAGE_EXTRA = 10  # bank entries among the hits are skipped: look a little deeper
PASSAGE_CAP_UNITS = 260  # text units (CJK characters + latin words) of quoted passages


def offtopic_checked(matches: list[EntryMatch], veto: float) -> list[EntryMatch]:
    """An off-topic exemplar ahead only on shared wording ("车险理赔要准备什么材料" vs
    "买家破产了要准备什么材料") does not decline: when the best in-scope entry is closer
    in meaning (dense cosine) by more than ``veto``, the exemplar steps back."""
    if not matches or matches[0].category != OFFTOPIC or matches[0].via == "classifier":
        return matches
    inscope = [m for m in matches if m.category != OFFTOPIC]
    if inscope and inscope[0].dense - matches[0].dense > veto:
        return inscope + [m for m in matches if m.category == OFFTOPIC]
    return matches


def _hit(chunk_id: str, text: str, metadata: dict[str, Any]) -> Hit:
    exp = Explanation([], 0.0, None, 0.0, None, 0.0, 0)
    return Hit(chunk_id, text, dict(metadata), 1.0, exp)


def _basis_label(ref: Hit, lang: str) -> str:
    leaf = str(ref.metadata.get("section", "")).split(" > ")[-1] or str(
        ref.metadata.get("clause", "")
    )
    if ref.metadata.get("doc_type") == "policy":
        return t(lang, "knowledge.basis_policy", leaf=leaf)
    title = str(ref.metadata.get("title", ""))
    return t(lang, "knowledge.basis_doc", title=title, leaf=leaf)


def _unit_heading(hit: Hit) -> str:
    leaf = str(hit.metadata.get("section", "")).split(" > ")[-1]
    title = str(hit.metadata.get("title", ""))
    if hit.metadata.get("doc_type") == "policy":
        return f"{title} › {leaf}" if leaf else title
    if not leaf:
        return title
    # Punctuated as the document's own language, whatever the reply language.
    doc_lang = "zh" if hit.metadata.get("lang") == "zh" else "en"
    return t(doc_lang, "knowledge.unit_heading", leaf=leaf, title=title)


def _whole_unit_text(hit: Hit, cap: int) -> str:
    """A passage's paragraphs and list items as written, without tables, lines about the
    document or a list opener whose items would be cut off; trimmed at a sentence end."""
    lines: list[str] = []
    for raw in _body_of(hit).split("\n"):
        line = raw.strip()
        if (
            not line
            or line.startswith(("|", "#", "---"))
            or ABOUT_DOC.match(line.replace("**", ""))
        ):
            continue
        lines.append(line)
    kept: list[str] = []
    used = 0
    for _i, line in enumerate(lines):
        size = text_units(line)
        if used + size > cap:
            if not kept:  # one long paragraph: keep whole sentences up to the cap
                part = ""
                for sentence in _SPLIT.split(line):
                    if text_units(part + sentence) > cap:
                        break
                    part += sentence
                if part.strip():
                    kept.append(part.strip())
            break
        kept.append(line)
        used += size
    # No opener without its items, and no unfinished sentence at the end.
    while kept and re.search(r"[:：]\s*$", kept[-1]):
        kept.pop()
    if kept and not LIST_ITEM.match(kept[-1]) and not re.search(r"[。！？.!?）)\]]\s*$", kept[-1]):
        sentences = [x for x in _SPLIT.split(kept[-1]) if x.strip()]
        trimmed = "".join(sentences[:-1]).strip() if len(sentences) > 1 else ""
        if trimmed:
            kept[-1] = trimmed
        else:
            kept.pop()
    return _drop_fragments(kept)


def _drop_fragments(lines: list[str]) -> str:
    out = [ln for ln in lines if not _stub(ln)]
    while out and re.search(r"[:：]\s*$", out[-1]):
        out.pop()
    return "\n".join(out)


def _stub(line: str) -> bool:
    bare = line.replace("**", "").strip()
    return len(bare) < 12 and not LIST_ITEM.match(bare)


def cited_numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d{1,2})\]", text)}


def as_plain(result: RetrievalResult) -> list[dict[str, Any]]:
    """Retrieval hits as plain data (tool results, logs)."""
    return [
        {
            "id": h.id,
            "doc_id": h.metadata.get("doc_id"),
            "title": h.metadata.get("title"),
            "section": h.metadata.get("section"),
            "clause": h.metadata.get("clause"),
            "score": round(float(h.score), 4),
        }
        for h in result.hits
    ]
