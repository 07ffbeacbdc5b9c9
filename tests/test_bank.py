"""The answer bank: format and checks, placeholders, matching as a unit, the three
outcomes (answer, "did you mean", decline), off-topic exemplars and the support loop."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from assistant.config import PROJECT_ROOT, Settings
from assistant.knowledge.bank import (
    BANK_SUFFIX,
    check_files,
    fragment_problems,
    load_bank,
    parameters,
    render,
)
from assistant.knowledge.documents import IngestError
from assistant.knowledge.policy_numbers import literal_policy_numbers
from assistant.matching import EntryMatcher
from tests.conftest import POLICY_ZH, write_doc

BANK = PROJECT_ROOT / "knowledge" / "bank"

POLICY_YAML = """
overdue:
  notification_days: 60
  mep_days: 60
claim_deadline:
  insolvency_days_after_awareness: 30
  default_days_after_notification_deadline: 90
indemnity:
  approved_limit_pct: 90
minimum_premium: 20000
"""

BANK_ZH = """
id: test-bank-zh
title: 测试问答
lang: zh
version: "1"
effective: 2026-01-01
category: claims
sources: ["test fixture"]
entries:
  - id: zh-claims-notify
    question: 客户逾期多久必须报给保险公司？
    similar:
      - 逾期申报期限是多久
      - 客户拖款几天内要通知保险公司
      - 逾其了多久要申报
      - 客戶逾期要幾耐通知保險公司
      - 买家没按时付款要多久内报告保险人
      - overdue了多久要报
    answer: >-
      原应付款日后{{ policy.overdue.notification_days }}天内必须提交逾期申报。
      晚于这个期限，保险人可以拒赔这笔应收账款。
    basis: test-policy-zh 第二条
    related: [zh-claims-deadline]
    sources: ["test"]
  - id: zh-claims-deadline
    question: 客户拖欠的话，索赔期限是多久？
    similar:
      - 拖欠索赔最晚什么时候交
      - 买家一直不付钱 多久内要索赔
      - 索陪期限是多久
      - 拖欠的案子几天内提交索赔申请
      - 客户赖账索赔有没有时间限制
      - 拖款索赔截止日怎么算
    answer: >-
      逾期申报期限届满后{{
      policy.claim_deadline.default_days_after_notification_deadline }}天内要提交索赔申请。
      也就是原应付款日后第{{ policy.overdue.notification_days
      + policy.claim_deadline.default_days_after_notification_deadline }}天是最后期限。
    basis: test-policy-zh 第三条
    related: [zh-claims-notify]
    sources: ["test"]
  - id: zh-offtopic-credit-card
    category: offtopic
    question: 我的信用卡逾期了怎么办？
    similar:
      - 信用卡逾期三个月会怎样
      - 信用卡还不上了银行天天打电话
      - 花呗逾期了怎么办
      - 信用卡逾期上征信了吗
      - 信用卡欠款逾期了能协商分期吗
      - 信用卡最低还款也还不上了
    answer: |-
      信用卡逾期属于个人消费信贷，不在我的服务范围内，建议直接联系发卡银行。我能帮你处理的是企业客户拖欠货款和贸易信用保险方面的问题。
    basis: test-policy-zh 第一条
    sources: ["own wording"]
"""


def _with_parameters(kb: Path) -> Path:
    """The shipped parameters (policy, rating, intents…): the assistant needs all of them."""
    for path in (PROJECT_ROOT / "knowledge").glob("*.yaml"):
        shutil.copy(path, kb / path.name)
    return kb


@pytest.fixture
def bank_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_doc(kb, "policy/policy.zh.md", POLICY_ZH)
    write_doc(kb, f"bank/zh/claims{BANK_SUFFIX}", BANK_ZH)
    return _with_parameters(kb)


def _bot(settings: Settings) -> object:
    from assistant.advisor import Assistant
    from assistant.knowledge.index import KnowledgeIndex
    from assistant.storage import Store

    report = KnowledgeIndex(settings).sync()
    assert report.ok, report.failed
    return Assistant.from_settings(settings, store=Store(f"sqlite:///{settings.data_dir}/t.db"))


# -- the shipped bank ----------------------------------------------------------------------


def _shipped() -> list[Path]:
    """The bank files ingest indexes ("_" files are drafts and examples)."""
    return sorted(p for p in BANK.rglob(f"*{BANK_SUFFIX}") if not p.name.startswith("_"))


def test_shipped_bank_passes_every_check() -> None:
    count, problems = check_files(_shipped(), PROJECT_ROOT / "knowledge")
    assert problems == []
    assert count >= 550


def test_shipped_bank_has_the_promised_coverage() -> None:
    entries: dict[str, list[dict[str, object]]] = {"zh": [], "en": []}
    for path in _shipped():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for e in data["entries"]:
            e.setdefault("category", data["category"])
            entries[data["lang"]].append(e)
    in_scope = {k: [e for e in v if e["category"] != "offtopic"] for k, v in entries.items()}
    assert len(in_scope["zh"]) >= 350
    assert len(in_scope["en"]) >= 200
    for lang in ("zh", "en"):
        glossary = [e for e in in_scope[lang] if e["category"] == "glossary"]
        assert len(glossary) >= 120, lang
    topics = yaml.safe_load((BANK / "topics.yaml").read_text(encoding="utf-8"))
    for lang in ("zh", "en"):
        covered = {e["category"] for e in in_scope[lang]}
        assert set(topics) - covered == set(), lang


def test_no_answer_in_the_shipped_bank_states_a_policy_number_literally() -> None:
    params = parameters(PROJECT_ROOT / "knowledge")
    found = []
    for path in _shipped():
        for e in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]:
            found += [f"{e['id']}: {p}" for p in literal_policy_numbers(e["answer"], params)]
    assert found == []


# -- checks --------------------------------------------------------------------------------


def test_literal_policy_numbers_are_flagged_and_placeholders_or_plain_numbers_are_not() -> None:
    params = {"policy": yaml.safe_load(POLICY_YAML)}
    assert literal_policy_numbers("客户逾期后60天内要做逾期申报。", params)
    assert literal_policy_numbers("The insurer pays 90% of the loss.", params)
    assert literal_policy_numbers("最低保费是2万元。", params)
    assert literal_policy_numbers("保险人赔九成。", params)
    assert not literal_policy_numbers(
        "逾期后{{ policy.overdue.notification_days }}天内申报。", params
    )
    assert not literal_policy_numbers("给新客户的账期一般30天。", params)  # no policy word
    assert not literal_policy_numbers("大型企业应在60日内付款。", params)
    assert not literal_policy_numbers("比如5月15日前向保险人申报上月营业额。", params)  # a date
    assert literal_policy_numbers("保险期间为12个月。", {"policy": {"policy_period_months": 12}})


def test_fragment_checker_finds_openers_stubs_and_lines_about_the_document() -> None:
    assert fragment_problems("内容应包括： [1]")
    assert fragment_problems("本文按以下顺序展开。")
    assert fragment_problems("This guide explains credit terms.")
    assert fragment_problems("太短了。")
    assert not fragment_problems("催款函应包括：\n1. 欠款金额和发票号\n2. 付款期限")
    assert not fragment_problems("示例条款下，逾期申报要在原应付款日后60天内提交。")
    # A script quoted under its opener is the opener's content, not a missing list.
    assert not fragment_problems("Sample phone script:\n> Hello, this is Li from ABC Trading.")
    assert fragment_problems("Sample phone script:\nCall again on day 7 if nothing arrives.")


def test_check_reports_missing_similar_bad_related_and_unknown_placeholders(
    bank_kb: Path,
) -> None:
    bad = BANK_ZH.replace("zh-claims-deadline]", "zh-nowhere]").replace(
        "{{ policy.overdue.notification_days }}天内必须", "{{ policy.no_such_key }}天内必须"
    )
    path = write_doc(bank_kb, f"bank/zh/bad{BANK_SUFFIX}", bad)
    (bank_kb / f"bank/zh/claims{BANK_SUFFIX}").unlink()
    _, problems = check_files([path], bank_kb)
    text = "\n".join(problems)
    assert "related id 'zh-nowhere' not found" in text
    assert "no_such_key" in text or "bad placeholder" in text


def test_placeholders_render_from_the_policy_parameters(bank_kb: Path) -> None:
    params = parameters(bank_kb)
    doc = load_bank(bank_kb / f"bank/zh/claims{BANK_SUFFIX}", "x", params)
    answers = {e["entry_id"]: e["answer"] for e in doc.entries}
    assert answers["zh-claims-notify"].startswith("原应付款日后60天内")
    assert "第150天" in answers["zh-claims-deadline"]
    assert render("{{ policy.minimum_premium | wan }}", params) == "2万"
    with pytest.raises(IngestError):
        render("{{ policy.missing }}", params)


def test_an_edit_of_policy_yaml_changes_every_answer_after_ingest(
    bank_kb: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(knowledge_dir=bank_kb)
    bot = _bot(settings)
    first = bot.chat("客户逾期多久必须报给保险公司？")
    assert "60天内" in first.answer
    policy = bank_kb / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "notification_days: 60" in text
    policy.write_text(text.replace("notification_days: 60", "notification_days: 45"))
    bot = _bot(settings)
    second = bot.chat("客户逾期多久必须报给保险公司？")
    assert "45天内" in second.answer and "60天内" not in second.answer


# -- matching and the three outcomes --------------------------------------------------------


def test_a_similar_phrasing_answers_with_the_entry_and_cites_its_basis(
    bank_kb: Path, make_settings: Callable[..., Settings]
) -> None:
    bot = _bot(make_settings(knowledge_dir=bank_kb))
    reply = bot.chat("客戶逾期要幾耐通知保險公司")
    assert reply.intent == "knowledge"
    assert reply.answer.startswith("原应付款日后60天内")
    assert [c.doc_id for c in reply.citations] == ["test-bank-zh", "test-policy-zh"]
    assert "第二条" in reply.citations[1].clause
    # The related entry is offered as the follow-up chip, never the entry itself.
    assert reply.suggestions == ["客户拖欠的话，索赔期限是多久？"]


def test_an_off_topic_near_miss_is_declined_with_the_exemplar(
    bank_kb: Path, make_settings: Callable[..., Settings]
) -> None:
    bot = _bot(make_settings(knowledge_dir=bank_kb))
    reply = bot.chat("信用卡逾期两个月了怎么办")
    assert reply.intent == "oos"
    assert "个人消费信贷" in reply.answer
    assert not reply.citations


def test_between_the_thresholds_the_reply_offers_did_you_mean(
    bank_kb: Path, make_settings: Callable[..., Settings]
) -> None:
    # Thresholds set so this phrasing lands between them, whatever the embedder's scale.
    settings = make_settings(knowledge_dir=bank_kb)
    bot = _bot(settings)
    score = bot.engine.match_entries("客户拖款啥时候报", "zh")[0].score
    bot = _bot(
        settings.model_copy(
            update={"bank_answer_threshold": score + 0.01, "bank_suggest_threshold": score - 0.2}
        )
    )
    reply = bot.chat("客户拖款啥时候报")
    assert reply.intent == "did_you_mean"
    assert reply.answer.splitlines()[0] == "您是不是想问："
    assert "客户逾期多久必须报给保险公司？" in reply.suggestions
    # Picking the chip answers it.
    picked = bot.chat(reply.suggestions[0], session_id=reply.session_id)
    assert picked.intent == "knowledge" and picked.citations


def test_the_support_loop_one_similar_line_and_an_ingest_make_a_question_answer(
    bank_kb: Path, make_settings: Callable[..., Settings]
) -> None:
    # Thresholds fixed here: the loop is under test, not the calibration of the day.
    settings = make_settings(
        knowledge_dir=bank_kb, bank_answer_threshold=0.7, bank_suggest_threshold=0.6
    )
    question = "下家一直赖着货款不给，承保的那边得啥时候前吱一声"
    bot = _bot(settings)
    before = bot.chat(question)
    assert not (before.intent == "knowledge" and before.answer.startswith("原应付款日后"))
    logged = bot.store.unanswered()
    assert [r["text"] for r in logged] == [question]
    assert logged[0]["kind"] in ("none", "suggest", "offtopic", "oos")

    path = bank_kb / f"bank/zh/claims{BANK_SUFFIX}"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "      - overdue了多久要报\n", f"      - overdue了多久要报\n      - {question}\n", 1
        )
    )
    bot = _bot(settings)
    after = bot.chat(question)
    assert after.intent == "knowledge"
    assert after.answer.startswith("原应付款日后60天内")


def test_thumbs_down_is_logged_with_the_question_and_scores(
    bank_kb: Path, make_settings: Callable[..., Settings]
) -> None:
    bot = _bot(make_settings(knowledge_dir=bank_kb))
    reply = bot.chat("逾期申报期限是多久")
    bot.store.add_feedback(reply.session_id, reply.message_id, -1, "不对")
    rows = bot.store.unanswered(kind="thumbs_down")
    assert len(rows) == 1
    assert rows[0]["text"] == "逾期申报期限是多久"
    assert rows[0]["nearest_entry"] == "zh-claims-notify"
    assert rows[0]["nearest_score"] > 0
    bot.delete_session(reply.session_id)
    assert bot.store.unanswered() == []


def test_passage_answers_quote_whole_units_without_fragments(
    small_corpus: Path, make_settings: Callable[..., Settings]
) -> None:
    # The gate is calibrated on the full corpus; this three-document one only needs a passage.
    settings = make_settings(knowledge_dir=_with_parameters(small_corpus), min_confidence=0.0)
    bot = _bot(settings)
    reply = bot.chat("How do I lower DSO?")
    assert reply.intent == "knowledge"
    assert "Invoice on the day of delivery. Send a reminder a week before the due date." in (
        reply.answer
    )
    assert "Agree payment terms in writing before the first order." in reply.answer
    assert fragment_problems(reply.answer) == []
    assert reply.citations and reply.citations[0].doc_id == "test-guide-en"


def test_entry_ids_and_yaml_layout_are_documented() -> None:
    doc = (PROJECT_ROOT / "docs" / "answer-bank.md").read_text(encoding="utf-8")
    sample = textwrap.dedent(doc.split("```yaml", 1)[1].split("```", 1)[0])
    data = yaml.safe_load(sample)
    assert {"id", "question", "similar", "answer", "basis", "related", "sources"} <= set(
        data["entries"][0]
    )


def test_csv_cells_that_would_run_as_formulas_are_escaped_and_numbers_are_not() -> None:
    from assistant.api.csvout import safe_cell

    for hostile in ('=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "\tx"):
        assert safe_cell(hostile) == "'" + hostile
    assert safe_cell("+8613800001111") == "+8613800001111"
    assert safe_cell("客户 =说") == "客户 =说"


# -- the shipped bank through the real assistant ---------------------------------------------


@pytest.fixture(scope="module")
def shipped(full_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> object:
    from assistant.advisor import Assistant
    from assistant.storage import Store

    db = tmp_path_factory.mktemp("bank") / "bank.db"
    return Assistant.from_settings(full_settings, store=Store(f"sqlite:///{db}"))


def _entry(reply: object) -> tuple[str, list[str]]:
    for call in reply.tool_calls:
        if call.name == "search_knowledge":
            return str(call.result.get("kind")), list(call.result.get("entry_ids") or [])
    return "", []


# The seed article's topics, each asked by its headline question.
HEADLINES = [
    "国内企业信用保险如何降低客户拖欠风险?",
    "客户付不出钱，怎么安排还款计划？",
    "怎么降低DSO？",
    "现金比率怎么算？",
    "怎么识别客户的信用风险",
    "发票有争议时怎么处理？",
    "给客户的信用期限怎么定？",
    "怎么购买信用保险？",
    "信用保险理赔流程是怎样的？",
    "How can I get my customers to pay faster? Our DSO is 95 days",
    "How do I buy trade credit insurance?",
]


@pytest.mark.parametrize("question", HEADLINES)
def test_seed_topics_answer_their_headline_question_whole_and_cited(
    shipped: object, question: str
) -> None:
    reply = shipped.chat(question)
    kind, ids = _entry(reply)
    assert reply.intent == "knowledge" and kind == "faq", (reply.intent, reply.answer)
    assert reply.citations and ids
    assert fragment_problems(reply.answer) == []
    assert len(re.findall(r"[。！？!?]|\.(?=\s|$)", reply.answer)) >= 2  # whole, not a line


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("客户已经拖了我3个月的款了，现在去买保险还能保这笔吗", "zh-buying-overdue-before-cover"),
        ("客户已经逾期了，现在投保还来得及吗", "zh-buying-overdue-before-cover"),
        ("帮我写一封催款函", "zh-collections-demand-letter-template"),
        ("什么是坏账", "zh-glossary-bad-debt"),
        ("What is not covered by the policy?", "en-cover-exclusions-full"),
        ("What is not covered?", "en-cover-exclusions-full"),
    ],
)
def test_questions_that_failed_before_get_their_entry(
    shipped: object, question: str, entry: str
) -> None:
    reply = shipped.chat(question)
    assert _entry(reply) == ("faq", [entry]), reply.answer
    assert fragment_problems(reply.answer) == []


def test_an_overdue_debt_before_cover_is_answered_as_not_insured(shipped: object) -> None:
    reply = shipped.chat("客户已经拖了我3个月的款了，现在去买保险还能保这笔吗")
    first = reply.answer.split("。")[0]
    assert re.search(r"不能|不保|不在", first), first


@pytest.mark.parametrize(
    "variants",
    [
        ["What is the waiting period?", "what is waiting period", "WHAT IS THE WAITING PERIOD?"],
        ["What is the indemnity percentage?", "what's the indemnity percentage"],
    ],
)
def test_casing_and_articles_never_flip_a_decision(shipped: object, variants: list[str]) -> None:
    outcomes = {(r.intent, *_entry(r)[:1]) for r in map(shipped.chat, variants)}
    assert len(outcomes) == 1, outcomes
    assert outcomes.pop()[0] == "knowledge"


@pytest.mark.parametrize(
    "question",
    [
        "信用卡逾期了怎么办",
        "车险理赔要准备什么材料",
        "花呗逾期三个月会被起诉吗",
        "my credit card payment is late",
    ],
)
def test_near_miss_off_topic_questions_are_declined_naming_what_we_do(
    shipped: object, question: str
) -> None:
    reply = shipped.chat(question)
    assert reply.intent == "oos", reply.answer
    assert not reply.citations
    assert re.search(r"货款|贸易信用保险|应收|business customers|trade credit", reply.answer)


def test_a_claim_documents_question_for_a_named_cause_still_opens_the_checklist(
    shipped: object,
) -> None:
    reply = shipped.chat("买家破产了要准备什么材料？")
    assert reply.intent == "claim"


def test_support_reads_unanswered_questions_grouped_by_entry_as_json_and_csv(
    api_server: object,
) -> None:
    import csv
    import io

    import httpx

    from tests.conftest import SUPPORT_KEY

    url = api_server.url
    question = '=HYPERLINK("http://x") 今天天气怎么样 讲个笑话'
    reply = httpx.post(f"{url}/v1/chat", json={"message": question}, timeout=60).json()
    assert reply["intent"] in ("oos", "knowledge", "chitchat", "did_you_mean")
    auth = {"Authorization": f"Bearer {SUPPORT_KEY}"}
    body = httpx.get(f"{url}/v1/admin/unanswered", headers=auth, timeout=30).json()
    texts = [ex["text"] for g in body["groups"] for ex in g["examples"]]
    assert question in texts
    assert body["total"] >= 1 and all(g["count"] >= 1 for g in body["groups"])
    resp = httpx.get(f"{url}/v1/admin/unanswered?format=csv", headers=auth, timeout=30)
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text.lstrip("\ufeff"))))
    assert any(r["text"] == "'" + question for r in rows)  # a formula stays text
    assert httpx.get(f"{url}/v1/admin/unanswered", timeout=30).status_code == 401


def _toy_matcher(
    offtopic_p: float, keep: float
) -> tuple[EntryMatcher, Callable[[str], list[float]]]:
    """A small matcher over hashed character-bigram vectors (no embedder needed)."""
    import numpy as np

    from assistant.matching import CALIBRATION

    def vec(text: str) -> list[float]:
        v = np.zeros(256, dtype=np.float32)
        for i in range(len(text) - 1):
            v[sum(map(ord, text[i : i + 2])) % 256] += 1
        return list(v / (np.linalg.norm(v) or 1.0))

    groups = {
        ("zh-a", "claims"): ["客户破产了怎么索赔", "买方破产 索赔材料", "客户倒闭了 保险怎么赔"],
        ("zh-b", "duties"): [
            "客户逾期了要报给保险公司吗",
            "买方拖欠多久要申报",
            "买家逾期两个月 申报期限",
        ],
        ("zh-c", "collections"): [
            "客户欠货款不还怎么催",
            "买方拖着不付 发催款函",
            "客户一直拖欠货款 怎么办",
        ],
        ("zh-off-card", "offtopic"): [
            "我的信用卡逾期了怎么办",
            "本人信用卡欠款被催收",
            "我的信用卡分期还不上",
        ],
        ("zh-off-huabei", "offtopic"): [
            "我的花呗逾期了",
            "本人花呗借呗还不上",
            "我的借呗逾期会上征信吗",
        ],
    }
    entries, phrasings = [], []
    for (eid, cat), texts in groups.items():
        row = len(entries)
        entries.append(
            {"entry_id": eid, "question": texts[0], "category": cat, "lang": "zh", "related": []}
        )
        phrasings += [(row, t) for t in texts]
    cal = dict(CALIBRATION["e5"], lo=0.0, hi=1.0, offtopic_p=offtopic_p, offtopic_keep=keep)
    vectors = np.asarray([vec(t) for _, t in phrasings], dtype=np.float32)
    return EntryMatcher(entries, phrasings, vectors, list, lambda s: s, cal), vec


def test_the_offtopic_classifier_puts_an_exemplar_first_only_when_sure_and_nothing_is_close() -> (
    None
):
    """Exemplar matching needs an exemplar's wording; the classifier (fitted on the bank's
    phrasings) also reads "本人…网贷" as personal. It promotes the closest exemplar when its
    probability reaches ``offtopic_p`` and no in-scope entry reaches ``offtopic_keep``."""
    question = "本人网贷欠款不还 会怎么催"
    off, vec = _toy_matcher(offtopic_p=1.01, keep=0.6)  # classifier off
    assert off.match(question, vec(question), "zh", 2)[0].entry_id == "zh-c"
    on, _ = _toy_matcher(offtopic_p=0.4, keep=0.6)
    assert 0.4 <= on.offtopic_probability(question, vec(question)) < 1.0
    top = on.match(question, vec(question), "zh", 2)[0]
    assert top.category == "offtopic" and top.via == "classifier"
    assert top.score >= on.cal["answer"]
    guarded, _ = _toy_matcher(offtopic_p=0.4, keep=0.4)  # an in-scope entry is close enough
    assert guarded.match(question, vec(question), "zh", 2)[0].entry_id == "zh-c"
    business = "客户欠货款不还怎么催"
    assert on.match(business, vec(business), "zh", 2)[0].entry_id == "zh-c"


def test_an_entry_near_the_question_as_a_whole_outranks_one_lucky_phrasing() -> None:
    """With ``centroid`` > 0 the dense view reads each entry as its mean phrasing vector: an
    entry whose phrasings each cover part of a long question (cosine 0.58 each, 1.0 to their
    mean) beats an entry with one phrasing at 0.70 and the rest unrelated. Without it the
    lucky phrasing wins."""
    import numpy as np

    from assistant.matching import CALIBRATION

    dim = 8
    basis = np.eye(dim, dtype=np.float32)
    query = (basis[0] + basis[1] + basis[2]) / np.sqrt(3)
    lucky = 0.7 * query + np.sqrt(1 - 0.49) * basis[3]
    vectors = np.stack([basis[0], basis[1], basis[2], lucky, basis[5], basis[6]])
    entries = [
        {"entry_id": "en-whole", "question": "w", "category": "claims", "lang": "en"},
        {"entry_id": "en-lucky", "question": "l", "category": "duties", "lang": "en"},
    ]
    phrasings = [(0, "a one"), (0, "b two"), (0, "c three"), (1, "d four"), (1, "e five")]
    phrasings.append((1, "f six"))

    def top(centroid: float) -> str:
        cal = dict(CALIBRATION["e5"], lo=0.0, hi=1.0, dense=1.0, chars=0.0, words=0.0)
        cal.update(pair=0.0, centroid=centroid, offtopic_p=1.01)
        matcher = EntryMatcher(entries, phrasings, vectors, str.split, lambda s: s, cal)
        return matcher.match("q", list(query), "en", 2)[0].entry_id

    assert top(0.0) == "en-lucky"
    assert top(0.7) == "en-whole"
