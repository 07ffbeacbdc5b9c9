"""Each loader on small files the tests create, and each bad-input case."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.knowledge.documents import IngestError
from assistant.knowledge.loaders import load_document
from tests.conftest import GUIDE_EN, POLICY_ZH, write_doc


def test_markdown_with_front_matter_is_validated(tmp_path: Path) -> None:
    doc = load_document(write_doc(tmp_path, "p.md", POLICY_ZH))
    assert doc.has_front_matter
    assert doc.meta.id == "test-policy-zh"
    assert doc.meta.lang == "zh"
    assert doc.meta.counterpart == "test-guide-en"
    assert doc.text.startswith("# 测试示例条款")
    assert "---" not in doc.text.splitlines()[0]


def test_markdown_without_front_matter_gets_derived_metadata(tmp_path: Path) -> None:
    doc = load_document(
        write_doc(tmp_path, "Payment Plans.md", "# 付款计划\n\n分期付款要写清楚。\n")
    )
    assert not doc.has_front_matter
    assert doc.meta.id == "payment-plans"
    assert doc.meta.title == "付款计划"
    assert doc.meta.lang == "zh"


def test_gbk_text_file_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    text = "国内贸易信用保险可以降低客户拖欠货款的风险。被保险人应当按月申报营业额。" * 3
    path.write_bytes(text.encode("gbk"))
    doc = load_document(path)
    assert "客户拖欠货款" in doc.text
    assert doc.meta.lang == "zh"


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(
        0,
        8,
        "Article 1 Constitution of the contract\nThe policy consists of the wording.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.multi_cell(0, 8, "Article 2 The insured\nA company registered in mainland China.")
    pdf.set_title("Sample wording PDF")
    path = tmp_path / "sample.pdf"
    pdf.output(str(path))
    doc = load_document(path)
    assert "Article 2 The insured" in doc.text
    assert doc.meta.title == "Sample wording PDF"
    assert doc.meta.lang == "en"
    assert doc.meta.id == "sample"


def test_pdf_sidecar_metadata_overrides_derived_fields(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Guide text about payment plans and instalments.")
    path = tmp_path / "plan.pdf"
    pdf.output(str(path))
    (tmp_path / "plan.pdf.meta.yaml").write_text(
        "id: plan-guide-en\ntitle: Payment plans\ndoc_type: guide\nsources: [internal]\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.meta.id == "plan-guide-en"
    assert doc.meta.sources == ["internal"]


def test_docx_headings_become_markdown_headings(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("示例条款", level=0)
    document.add_heading("第一章 总则", level=1)
    document.add_heading("第一条 合同构成", level=2)
    document.add_paragraph("本合同由条款、投保单和明细表组成。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "赔偿比例"
    table.rows[0].cells[1].text = "90%"
    path = tmp_path / "policy.docx"
    document.save(str(path))
    doc = load_document(path)
    assert "# 示例条款" in doc.text
    assert "## 第一章 总则" in doc.text
    assert "### 第一条 合同构成" in doc.text
    assert "赔偿比例 | 90%" in doc.text
    assert doc.meta.lang == "zh"


def test_html_keeps_headings_and_drops_scripts(tmp_path: Path) -> None:
    html = """<html lang="zh-CN"><head><title>争议发票处理</title>
    <script>var tracking = 1;</script></head><body>
    <nav>首页 | 产品</nav>
    <h1>争议发票处理</h1><h2>常见原因</h2><p>价格错误、数量不符和质量投诉。</p>
    <h2>处理步骤</h2><p>先把有争议的部分和无争议的部分分开。</p></body></html>"""
    path = tmp_path / "disputes.html"
    path.write_text(html, encoding="utf-8")
    doc = load_document(path)
    assert "## 常见原因" in doc.text
    assert "tracking" not in doc.text
    assert "首页" not in doc.text
    assert doc.meta.title == "争议发票处理"
    assert doc.meta.lang == "zh"


# --- bad input: each case names a reason an operator can act on -------------------------


def _reason(path: Path) -> str:
    with pytest.raises(IngestError) as info:
        load_document(path)
    return info.value.reason


def test_corrupt_pdf_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\ngarbage\n")
    assert "PDF" in _reason(path)


def test_non_pdf_bytes_with_pdf_suffix_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(b"this is not a pdf at all")
    assert "corrupt PDF" in _reason(path)


def test_corrupt_docx_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert "corrupt or unreadable DOCX" in _reason(path)


def test_unsupported_type_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "numbers.xlsx"
    path.write_bytes(b"whatever")
    reason = _reason(path)
    assert "unsupported file type '.xlsx'" in reason
    assert ".md" in reason and ".pdf" in reason


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("  \n\n", encoding="utf-8")
    assert _reason(path) == "file is empty"


def test_front_matter_without_body_is_rejected(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "only-meta.md", GUIDE_EN.split("# Test guide")[0])
    assert "no body text" in _reason(path)


def test_bad_front_matter_names_the_field(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "bad.md", GUIDE_EN.replace("lang: en", "lang: fr"))
    reason = _reason(path)
    assert reason.startswith("bad front matter")
    assert "lang" in reason


def test_unknown_front_matter_key_is_rejected(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "typo.md", GUIDE_EN.replace("doc_type: guide", "doctype: guide"))
    reason = _reason(path)
    assert "doctype" in reason and "doc_type" in reason


def test_front_matter_that_is_not_yaml_is_rejected(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "yaml.md", "---\nid: [unclosed\n---\n# T\n\nbody\n")
    assert "not valid YAML" in _reason(path)


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    link = tmp_path / "gone.md"
    link.symlink_to(tmp_path / "does-not-exist.md")
    assert "cannot read file" in _reason(link)


def test_binary_file_with_text_suffix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 8)
    assert "not a text file" in _reason(path)
