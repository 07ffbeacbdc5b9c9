"""Lead capture: phone rules, input validation, need labels, idempotency, transcript copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assistant.storage import Store, new_id
from assistant.tools.leads import (
    NEED_LABELS,
    NEEDS,
    LeadInput,
    LeadResult,
    PhoneError,
    capture_lead,
    derive_idempotency_key,
    mask_phone,
    normalize_phone,
    phone_error_message,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'assistant.db'}")
    yield s
    s.close()


VALID = [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("+8613812345678", "+8613812345678"),
    ("0086 138 1234 5678", "+8613812345678"),
    ("0086-13812345678", "+8613812345678"),
    ("86 13812345678", "+8613812345678"),
    ("  19912345678  ", "+8619912345678"),
    ("１３８１２３４５６７８", "+8613812345678"),  # full-width digits from a CJK IME
    ("010-12345678", "+861012345678"),  # Beijing
    ("(010) 6552 9988", "+861065529988"),
    ("+86 10 12345678", "+861012345678"),
    ("0755 8888 8888", "+8675588888888"),  # Shenzhen
    ("0755-88888888", "+8675588888888"),
    ("+86 755 8888 8888", "+8675588888888"),
    ("(021)12345678", "+862112345678"),  # Shanghai
    ("（021）12345678", "+862112345678"),  # full-width brackets
    ("021–12345678", "+862112345678"),  # en dash
]

INVALID = [
    "",
    "   ",
    "12345",  # too short
    "1381234567",  # mobile one digit short
    "138123456789",  # mobile one digit long
    "12345678901",  # 11 digits but no valid mobile prefix
    "12345678",  # landline without area code
    "88888888",
    "0755-888888",  # local part too short
    "+1 415 555 2671",  # US
    "+852 9123 4567",  # Hong Kong is not mainland
    "138abcd5678",
    "1-800-FLOWERS",  # vanity letters that phonenumbers would turn into digits
    "13812345678 ext 12",
    "4008001234",  # 400 service number: not a person's line
    "138 1234 5678; DROP TABLE leads",
    "+86 138 1234 5678 +86",
    "1" * 40,
]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_normalize_phone_valid(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", INVALID)
def test_normalize_phone_invalid(raw: str) -> None:
    with pytest.raises(PhoneError) as info:
        normalize_phone(raw)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == phone_error_message("zh")


def test_phone_error_messages_in_both_languages() -> None:
    zh, en = phone_error_message("zh"), phone_error_message("en")
    assert "手机号" in zh and "010-12345678" in zh
    assert "mobile" in en and "010-12345678" in en
    err = PhoneError("invalid")
    assert err.reason == "invalid"
    assert err.message("en") == en and err.message("zh") == zh


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613812345678", "+86 138****5678"),
        ("+861012345678", "+86 101***5678"),
        ("+14155552671", "*******2671"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_lead_input_normalizes_and_defaults() -> None:
    inp = LeadInput(phone=" 138 1234 5678 ", name="  王经理 ", company=" 某公司 ")
    assert inp.phone == "+8613812345678"
    assert inp.name == "王经理" and inp.company == "某公司"
    assert inp.need == "credit_insurance"
    assert inp.details == "" and inp.channel == "api"
    assert inp.session_id is None and inp.idempotency_key is None
    assert LeadInput(phone="13812345678").name == ""  # name is optional on the form


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({}, "phone"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "13812345678", "name": "名" * 51}, "name"),
        ({"phone": "13812345678", "company": "司" * 101}, "company"),
        ({"phone": "13812345678", "details": "x" * 2001}, "details"),
        ({"phone": "13812345678", "need": "loans"}, "need"),
        ({"phone": "13812345678", "idempotency_key": "k" * 101}, "idempotency_key"),
        ({"phone": "13812345678", "idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_lead_input_validation_errors(fields: dict[str, Any], bad_field: str) -> None:
    with pytest.raises(ValidationError) as info:
        LeadInput(**fields)
    assert [e["loc"] for e in info.value.errors()] == [(bad_field,)]


def test_lead_input_limits_are_inclusive() -> None:
    inp = LeadInput(phone="13812345678", name="名" * 50, company="司" * 100, details="x" * 2000)
    assert len(inp.details) == 2000


def test_phone_error_is_reachable_from_validation_error() -> None:
    """The API picks the user's language from the original PhoneError."""
    with pytest.raises(ValidationError) as info:
        LeadInput(phone="+1 415 555 2671")
    error = info.value.errors()[0]
    assert isinstance(error["ctx"]["error"], PhoneError)
    assert "有效的中国大陆手机号" in error["msg"]


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("信用保险咨询", "credit_insurance"),
        ("应收账款管理", "receivables"),
        ("理赔咨询", "claims"),
        ("其他", "other"),
        ("receivables", "receivables"),
        (" Claims ", "claims"),
        ("Receivables management", "receivables"),
        ("", "credit_insurance"),
        (None, "credit_insurance"),
    ],
)
def test_need_label_mapping(given: str | None, key: str) -> None:
    assert LeadInput(phone="13812345678", need=given).need == key


def test_needs_match_the_form() -> None:
    assert NEEDS == ("credit_insurance", "receivables", "claims", "other")
    assert [NEED_LABELS[n]["zh"] for n in NEEDS] == [
        "信用保险咨询",
        "应收账款管理",
        "理赔咨询",
        "其他",
    ]


def test_capture_lead_stores_and_confirms(store: Store) -> None:
    inp = LeadInput(phone="138-1234-5678", name="李总", need="理赔咨询", details="买方破产")
    result = capture_lead(
        inp, store, transcript=[{"role": "user", "content": "买方破产了", "x": 1}]
    )
    assert isinstance(result, LeadResult)
    assert result.created and result.handoff
    assert result.message == "已收到，专员会在1个工作日内联系您（尾号5678）。"
    saved = store.get_lead(result.lead_id)
    assert saved is not None
    assert saved["phone"] == "+8613812345678"
    assert saved["need"] == "claims" and saved["name"] == "李总"
    assert saved["transcript"] == [{"role": "user", "content": "买方破产了"}]
    assert saved["idempotency_key"].startswith("auto:")

    en = capture_lead(LeadInput(phone="010-12345678"), store, lang="en")
    assert "1 business day" in en.message and "5678" in en.message


def test_capture_lead_reads_transcript_from_session(store: Store) -> None:
    sid = new_id("s")
    reply = {"message_id": new_id("m"), "answer": "可以帮您安排专员"}
    store.save_turn(sid, lang="zh", channel="ui", user_text="我想投保", reply=reply, state={})
    result = capture_lead(LeadInput(phone="13812345678", session_id=sid, channel="ui"), store)
    saved = store.get_lead(result.lead_id)
    assert saved is not None
    assert saved["transcript"] == [
        {"role": "user", "content": "我想投保"},
        {"role": "assistant", "content": "可以帮您安排专员"},
    ]
    assert saved["session_id"] == sid and saved["channel"] == "ui"


def test_capture_lead_retry_in_session_is_one_lead(store: Store) -> None:
    sid = new_id("s")
    first = capture_lead(LeadInput(phone="13812345678", session_id=sid), store)
    retry = capture_lead(LeadInput(phone="+86 138 1234 5678", session_id=sid), store)
    assert first.created and not retry.created
    assert retry.lead_id == first.lead_id and retry.message == first.message
    other_need = capture_lead(LeadInput(phone="13812345678", session_id=sid, need="claims"), store)
    assert other_need.created and other_need.lead_id != first.lead_id
    assert len(store.list_leads()) == 2


def test_capture_lead_explicit_key(store: Store) -> None:
    a = capture_lead(LeadInput(phone="13812345678", idempotency_key="form-123"), store)
    b = capture_lead(LeadInput(phone="13900001111", idempotency_key="form-123"), store)
    assert b.lead_id == a.lead_id and not b.created
    saved = store.get_lead(a.lead_id)
    assert saved is not None and saved["idempotency_key"] == "form-123"


def test_derived_key_without_session_depends_on_text_and_day() -> None:
    base = LeadInput(phone="13812345678", details="想了解")
    day = date(2026, 3, 1)
    assert derive_idempotency_key(base, today=day) == derive_idempotency_key(
        LeadInput(phone="138 1234 5678", details="想了解"), today=day
    )
    assert derive_idempotency_key(base, today=day) != derive_idempotency_key(
        base, today=date(2026, 3, 2)
    )
    assert derive_idempotency_key(base, today=day) != derive_idempotency_key(
        LeadInput(phone="13812345678", details="别的问题"), today=day
    )
    assert len(derive_idempotency_key(base)) <= 100


def test_capture_lead_without_session_dedupes_same_day(store: Store) -> None:
    a = capture_lead(LeadInput(phone="13812345678", details="同一表单"), store)
    b = capture_lead(LeadInput(phone="13812345678", details="同一表单"), store)
    c = capture_lead(LeadInput(phone="13812345678", details="另一个问题"), store)
    assert a.created and not b.created and b.lead_id == a.lead_id
    assert c.created and c.lead_id != a.lead_id


def test_capture_lead_logs_masked_phone(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="assistant.tools.leads"):
        capture_lead(LeadInput(phone="13812345678"), store)
    assert "+86 138****5678" in caplog.text
    assert "13812345678" not in caplog.text
