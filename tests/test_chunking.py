"""Chinese-aware chunking: clauses whole, sentence-end splits, clause metadata."""

from __future__ import annotations

import re
from datetime import date

from assistant.knowledge.chunking import Chunker, clause_number
from assistant.knowledge.documents import DocMeta, LoadedDocument, text_units


def _doc(
    text: str, lang: str = "zh", doc_type: str = "policy", title: str = "示例"
) -> LoadedDocument:
    meta = DocMeta(
        id="doc-x",
        title=title,
        lang=lang,  # type: ignore[arg-type]
        doc_type=doc_type,  # type: ignore[arg-type]
        version="1",
        effective=date(2026, 1, 1),
        sources=["test"],
    )
    return LoadedDocument(meta=meta, text=text, source="x.md", has_front_matter=True)


POLICY = """# 示例

## 第一章 总则

### 第一条 合同构成
本合同由条款、投保单和明细表组成。

### 第二十五条 逾期申报
被保险人应当在原应付款日后60天内提交逾期申报。未按时申报的，保险人可以拒绝赔付。
"""


def test_each_clause_that_fits_is_one_chunk_with_clause_metadata() -> None:
    chunks = Chunker(450, 60).split(_doc(POLICY))
    assert len(chunks) == 2
    first, second = chunks
    assert first.metadata["clause"] == "第一条"
    assert first.metadata["clause_no"] == 1
    assert second.metadata["clause"] == "第二十五条"
    assert second.metadata["clause_no"] == 25
    assert second.metadata["section"] == "第一章 总则 > 第二十五条 逾期申报"
    # The whole clause, heading included, is in one chunk.
    assert second.text.startswith("第二十五条 逾期申报\n")
    assert "拒绝赔付。" in second.text
    # Context (title and section path) is embedded but the stored text stays clean.
    assert second.embed_text.startswith("示例 > 第一章 总则 > 第二十五条 逾期申报\n")


def test_long_clause_is_split_on_sentence_ends_and_keeps_its_clause() -> None:
    sentences = [
        f"第{i}句说明被保险人在逾期后应当采取的措施和需要保留的证据材料。" for i in range(40)
    ]
    text = "# 示例\n\n### 第八条 买方拖欠\n" + "".join(sentences) + "\n"
    chunks = Chunker(120, 20).split(_doc(text))
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.metadata["clause"] == "第八条"
        assert chunk.metadata["clause_no"] == 8
        body = chunk.text.split("\n", 1)[1]
        assert text_units(body) <= 120
        assert body.endswith("。"), body[-20:]  # cut at a sentence end, not mid-sentence
    # Every sentence survives somewhere.
    joined = "".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)


def test_clauses_are_found_in_plain_text_without_headings() -> None:
    text = (
        "国内贸易信用保险示例条款\n"
        "第一条 本合同由条款和明细表组成。\n"
        "第二条 被保险人是在中国境内注册的企业。\n"
        "第三条 买方应为中国境内注册的法人。\n"
    )
    chunks = Chunker(450, 60).split(_doc(text))
    labels = [c.metadata["clause"] for c in chunks]
    assert labels == ["", "第一条", "第二条", "第三条"]
    assert [c.metadata["clause_no"] for c in chunks] == [-1, 1, 2, 3]


def test_english_articles_get_clause_metadata() -> None:
    text = (
        "# Sample\n\n## Chapter 7 Overdue notification\n\n### Article 25 Overdue notification\n"
        "The insured must notify the insurer within 60 days after the original due date.\n"
    )
    (chunk,) = Chunker(450, 60).split(_doc(text, lang="en", title="Sample"))
    assert chunk.metadata["clause"] == "Article 25"
    assert chunk.metadata["clause_no"] == 25
    assert chunk.metadata["lang"] == "en"


def test_english_text_is_split_on_sentence_ends() -> None:
    body = " ".join(f"Sentence number {i} explains how to agree a payment plan." for i in range(60))
    chunks = Chunker(80, 10).split(_doc(f"# T\n\n## Plans\n{body}\n", lang="en", title="T"))
    assert len(chunks) > 3
    for c in chunks:
        piece = c.text.split("\n", 1)[1]
        assert text_units(piece) <= 80
        assert re.search(r"\.$", piece)


def test_faq_chunks_carry_question_and_basis() -> None:
    text = (
        "# FAQ\n\n## 理赔\n### 客户拖了三个月不给钱，能赔吗？\n要看是否按时逾期申报。\n\n"
        "依据：policy-domestic-tci-zh 第二十五条\n"
    )
    (chunk,) = Chunker(450, 60).split(_doc(text, doc_type="faq", title="FAQ"))
    assert chunk.metadata["question"] == "客户拖了三个月不给钱，能赔吗？"
    assert chunk.metadata["basis"] == "policy-domestic-tci-zh 第二十五条"
    assert chunk.text.startswith("客户拖了三个月不给钱，能赔吗？\n")


def test_chunk_ids_are_deterministic_and_change_with_content() -> None:
    a = Chunker(450, 60).split(_doc(POLICY))
    b = Chunker(450, 60).split(_doc(POLICY))
    assert [c.id for c in a] == [c.id for c in b]
    edited = Chunker(450, 60).split(_doc(POLICY.replace("60天", "45天")))
    assert a[0].id == edited[0].id
    assert a[1].id != edited[1].id
    assert len({c.id for c in a}) == len(a)


def test_clause_number_parses_chinese_and_arabic_numerals() -> None:
    assert clause_number("第四十一条") == 41
    assert clause_number("第十条") == 10
    assert clause_number("第100条") == 100
    assert clause_number("Article 7") == 7
    assert clause_number("总则") == -1


def test_text_units_count_cjk_characters_and_latin_words() -> None:
    assert text_units("逾期申报") == 4
    assert text_units("file a claim within 90 days") == 6
    assert text_units("DSO是21.7天") == 4  # DSO, 21.7, 是, 天
