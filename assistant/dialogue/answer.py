"""Knowledge answers that say only what the knowledge base says.

Grounded mode never writes new claims. An answer is either a curated FAQ answer (when the
question matches a FAQ question closely) or sentences lifted verbatim from the best
passages, each ending with the [n] of its source. Low retrieval confidence says so plainly.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from assistant.knowledge.chunking import clause_number
from assistant.knowledge.documents import detect_lang
from assistant.models import Citation
from assistant.retrieval import Hit, RetrievalEngine, RetrievalResult

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
    result: RetrievalResult
    kind: str  # "faq" | "extractive" | "none"
    passages: list[Hit] = field(default_factory=list)


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
                from assistant.retrieval import Explanation

                exp = Explanation([], 0.0, None, 0.0, None, 0.0, 0)
                return Hit(rec.id, rec.text, dict(m), 1.0, exp)
        return None

    def answer(self, query: str, lang: str, *, k: int = 5) -> KnowledgeAnswer:
        result = self.engine.search(query, k)
        if detect_lang(query) != lang and result.confident:
            # Asked in one language for a reply in the other ("逾期申报期限是多久？" with
            # lang="en"): the gate judged the question; the passages come from the
            # reply's language so the answer is in it.
            other = self.engine.search(query, k, lang=lang)
            if other.hits:
                result = dataclasses.replace(other, confidence=result.confidence, confident=True)
        if result.no_good_answer or not result.hits:
            return KnowledgeAnswer("", [], result, "none")
        hits = [h for h in result.hits if h.metadata.get("lang") == lang] or result.hits
        top = hits[0]
        faq_sim = top.explanation.faq_match or 0.0
        if top.metadata.get("doc_type") == "faq" and (
            "faq question match" in top.explanation.reasons
            or faq_sim >= self.engine.faq_threshold - 0.06
        ):
            # A curated answer to (nearly) this question beats stitched sentences. A FAQ that
            # only ranks first without matching the question would answer another one
            # ("No. …"), so that case is quoted sentence by sentence instead.
            ka = self._faq(top, result, yes_no=_YES_NO_Q.search(query) is not None)
        else:
            ka = self._extractive(query, hits, result)
        return self._with_clause(ka, query, hits, lang)

    def _with_clause(
        self, ka: KnowledgeAnswer, query: str, hits: list[Hit], lang: str
    ) -> KnowledgeAnswer:
        """Add the sample clause behind an answer when retrieval found one and the answer
        does not cite any: a guide or FAQ says it plainly, the clause is what governs."""
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
        n = len(ka.citations) + 1
        label = clause.metadata["clause"]
        head = f"示例条款{label}" if lang == "zh" else f"Sample wording, {label}"
        colon = "：" if lang == "zh" else ": "
        ka.body += f"\n\n{head}{colon}{best} [{n}]"
        ka.citations.append(citation_for(n, clause))
        ka.passages.append(clause)
        return ka

    def _faq(self, hit: Hit, result: RetrievalResult, *, yes_no: bool = True) -> KnowledgeAnswer:
        citations = [citation_for(1, hit)]
        paras = [p.strip() for p in _body_of(hit).split("\n") if p.strip()]
        if paras and not yes_no:
            # The FAQ's "No." answered its own yes/no question; the user asked another kind.
            paras[0] = _VERDICT.sub("", paras[0], count=1).strip() or paras[0]
        body = "\n\n".join(f"{p} [1]" for p in paras)
        basis = _BASIS_RE.search(hit.text)
        if basis and basis.group(2):
            no = clause_number(basis.group(2))
            ref = self.clause_hit(basis.group(1), no) if no > 0 else None
            if ref is not None:
                citations.append(citation_for(2, ref))
                label = ref.metadata.get("clause") or ref.metadata.get("section")
                word = "依据：" if hit.metadata.get("lang") == "zh" else "Basis: "
                body += f"\n\n{word}{label} [2]"
        return KnowledgeAnswer(body, citations, result, "faq", [hit])

    def _extractive(self, query: str, hits: list[Hit], result: RetrievalResult) -> KnowledgeAnswer:
        """The best run of sentences from the top passage, plus the best sentence of the
        next two when they add something; every line carries its source's [n]."""
        q = _tokens(self.engine, query)

        def score(sentence: str) -> float:
            # Overlap, gently length-normalised: a long rule sentence that names the answer
            # should beat a short aside that shares one word.
            toks = _tokens(self.engine, sentence)
            return len(q & toks) / (len(toks) + 1) ** 0.25

        picked: list[tuple[int, str]] = []
        top = _sentences(_body_of(hits[0]))
        if top:
            scores = [score(x) + (0.3 if i == 0 else 0.0) for i, x in enumerate(top)]
            best = max(range(len(top)), key=lambda i: (scores[i], -i))
            # The best sentence, with the neighbours that also speak to the question
            # (the next one is kept regardless: it often finishes the thought).
            keep = [
                i
                for i in range(best, min(len(top), best + 3))
                if i in (best, best + 1) or scores[i] > 0
            ]
            picked += [(0, top[i]) for i in keep]
        for hi, hit in enumerate(hits[1:3], 1):
            sents = _sentences(_body_of(hit))
            if not sents:
                continue
            sc, sentence = max((score(x), x) for x in sents)
            seen = {x for _, x in picked}
            if sc >= 0.45 and all(_overlap(sentence, x) < 0.6 for x in seen):
                picked.append((hi, sentence))
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        for hi, sentence in picked:
            if hi not in numbers:
                numbers[hi] = len(numbers) + 1
                citations.append(citation_for(numbers[hi], hits[hi]))
            lines.append(f"- {sentence} [{numbers[hi]}]")
        return KnowledgeAnswer(
            "\n".join(lines), citations, result, "extractive", [hits[i] for i in numbers]
        )


def _overlap(a: str, b: str) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / max(1, min(len(sa), len(sb)))


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
