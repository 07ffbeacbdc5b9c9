"""Leads, feedback and support search over the real server; the API-key matrix."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, SUPPORT_KEY


@pytest.fixture(scope="module")
def url(api_server: Any) -> str:
    return str(api_server.url)


PROTECTED = [("GET", "/v1/leads"), ("GET", "/v1/search?q=逾期申报")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-key"}, 401),
        ({"X-API-Key": SUPPORT_KEY}, 200),
        ({"Authorization": f"Bearer {ADMIN_KEY}"}, 200),
    ],
)
def test_support_routes_need_a_support_or_admin_key(
    url: str, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    resp = httpx.request(method, url + path, headers=headers)
    assert resp.status_code == status
    if status == 401:
        assert resp.json()["error"]["code"] == "unauthorized"


def test_a_lead_is_stored_once_per_idempotency_key(url: str, api_server: Any) -> None:
    body = {
        "consent": True,
        "phone": "138 1234 5678",
        "name": "王先生",
        "need": "理赔咨询",
        "details": "买家破产",
    }
    first = httpx.post(f"{url}/v1/leads", json=body, headers={"Idempotency-Key": "form-42"})
    again = httpx.post(f"{url}/v1/leads", json=body, headers={"Idempotency-Key": "form-42"})
    assert first.status_code == again.status_code == 201
    assert first.json()["created"] is True and again.json()["created"] is False
    assert first.json()["lead_id"] == again.json()["lead_id"]
    stored = api_server.assistant.store.get_lead(first.json()["lead_id"])
    assert stored["phone"] == "+8613812345678" and stored["need"] == "claims"


def test_a_bad_phone_gets_a_clear_error_in_the_callers_language(url: str) -> None:
    resp = httpx.post(
        f"{url}/v1/leads",
        json={"consent": True, "phone": "12345", "lang": "en"},
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_phone"
    assert "mainland" in resp.json()["error"]["message"].lower()


def test_leads_export_as_csv_with_chinese_intact(url: str) -> None:
    httpx.post(f"{url}/v1/leads", json={"consent": True, "phone": "010-12345678", "name": "李经理"})
    resp = httpx.get(f"{url}/v1/leads?format=csv", headers={"X-API-Key": SUPPORT_KEY})
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.text.lstrip("\ufeff"))))
    assert any(r["name"] == "李经理" and r["phone"] == "+861012345678" for r in rows)


def test_leads_csv_cells_that_a_spreadsheet_would_run_are_escaped(url: str) -> None:
    """The hole: the leads CSV exported =HYPERLINK(...), +1+cmd|... and @SUM(...) raw."""
    hostile = {
        "name": '=HYPERLINK("http://x.invalid","点我")',
        "company": "+1+cmd|' /C calc'!A0",
        "details": "@SUM(A1:A9)",
    }
    resp = httpx.post(f"{url}/v1/leads", json={"consent": True, "phone": "13700002222", **hostile})
    assert resp.status_code == 201
    export = httpx.get(f"{url}/v1/leads?format=csv", headers={"X-API-Key": SUPPORT_KEY})
    [row] = [
        r
        for r in csv.DictReader(io.StringIO(export.text.lstrip("\ufeff")))
        if r["phone"] == "+8613700002222"
    ]
    for field, value in hostile.items():
        assert row[field] == "'" + value
    assert row["phone"] == "+8613700002222"  # a plain number stays a number


def test_feedback_attaches_to_a_real_answer_only(url: str) -> None:
    reply = httpx.post(f"{url}/v1/chat", json={"message": "逾期申报期限是多久？"}).json()
    ok = httpx.post(
        f"{url}/v1/feedback",
        json={"session_id": reply["session_id"], "message_id": reply["message_id"], "rating": 1},
    )
    assert ok.status_code == 201
    made_up = httpx.post(
        f"{url}/v1/feedback",
        json={"session_id": reply["session_id"], "message_id": "m_nope", "rating": -1},
    )
    assert made_up.status_code == 404


def test_search_explains_its_hits(url: str) -> None:
    resp = httpx.get(
        f"{url}/v1/search", params={"q": "逾期申报期限"}, headers={"X-API-Key": SUPPORT_KEY}
    )
    hits = resp.json()["hits"]
    assert hits and {"matched_terms", "bm25_score", "dense_score"} <= set(hits[0]["explanation"])


def test_key_maker_prints_a_hash_the_settings_accept() -> None:
    import contextlib

    from assistant.api.auth import key_hash, main
    from assistant.config import Settings

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["new", "support"]) == 0
    lines = out.getvalue().splitlines()
    key = lines[0].split(": ", 1)[1]
    entry = lines[1].split(": ", 1)[1]
    assert entry == f"support:{key_hash(key)}"
    assert Settings(api_keys=entry, _env_file=None).api_keys == entry  # type: ignore[call-arg]


def test_plain_text_keys_in_settings_are_refused() -> None:
    from pydantic import ValidationError

    from assistant.config import Settings

    with pytest.raises(ValidationError, match="sha256"):
        Settings(api_keys="support:my-secret-key", _env_file=None)  # type: ignore[call-arg]


def _chat_lead(url: str, message: str) -> dict[str, Any]:
    """A widget chat turn in which the prospect leaves a phone; the reply carries the lead."""
    chat = httpx.post(
        f"{url}/v1/chat", json={"message": message, "channel": "widget"}, timeout=60
    ).json()
    assert chat["lead_id"], chat["answer"]
    return dict(chat)


def test_a_form_sent_after_the_chat_captured_the_lead_completes_that_lead(
    url: str, api_server: Any
) -> None:
    chat = _chat_lead(url, "请专家联系我，电话13912345678")
    captured = chat["lead_id"]
    form = {
        "consent": True,
        "phone": "139 1234 5678",
        "name": "赵女士",
        "need": "应收账款管理",
        "details": "想了解账期管理",
        "session_id": chat["session_id"],
    }
    first = httpx.post(f"{url}/v1/leads", json=form, headers={"Idempotency-Key": "page-form-1"})
    again = httpx.post(f"{url}/v1/leads", json=form, headers={"Idempotency-Key": "page-form-2"})
    assert first.status_code == again.status_code == 201
    assert first.json()["lead_id"] == again.json()["lead_id"] == captured
    assert first.json()["created"] is False
    lead = api_server.assistant.store.get_lead(captured)
    assert lead["name"] == "赵女士" and lead["need"] == "receivables"
    assert lead["details"].count("想了解账期管理") == 1
    same_session = [
        row
        for row in api_server.assistant.store.list_leads(limit=1000)
        if row["session_id"] == chat["session_id"]
    ]
    assert len(same_session) == 1


def test_a_public_lead_post_never_takes_over_another_visitors_lead(
    url: str, api_server: Any
) -> None:
    """The hole: a POST /v1/leads with a victim's session id overwrote the victim's phone
    and name. Now it fills empty fields only, and other contact details make a new lead."""
    chat = _chat_lead(url, "请专家联系我，我姓钱，电话13811112222")
    victim = chat["lead_id"]
    before = api_server.assistant.store.get_lead(victim)
    attack = {
        "consent": True,
        "phone": "+8617700001111",
        "name": "攻击者",
        "session_id": chat["session_id"],
    }
    resp = httpx.post(f"{url}/v1/leads", json=attack, headers={"Idempotency-Key": "takeover-1"})
    assert resp.status_code == 201
    assert resp.json()["lead_id"] != victim and resp.json()["created"] is True
    after = api_server.assistant.store.get_lead(victim)
    assert after["phone"] == before["phone"] == "+8613811112222"
    assert after["name"] == before["name"]
    attacker = api_server.assistant.store.get_lead(resp.json()["lead_id"])
    assert attacker["phone"] == "+8617700001111" and attacker["transcript"] == []


def test_a_lead_without_consent_is_refused_and_nothing_is_stored(url: str, api_server: Any) -> None:
    """个人信息保护法: no tick, no storage; with it, the time and notice version are kept."""
    store = api_server.assistant.store
    before = len(store.list_leads(limit=1000))
    for body in ({"phone": "13512340001"}, {"phone": "13512340001", "consent": False}):
        resp = httpx.post(f"{url}/v1/leads", json=body, headers={"Accept-Language": "en"})
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "consent_required"
        assert "tick" in resp.json()["error"]["message"]
    assert len(store.list_leads(limit=1000)) == before
    ok = httpx.post(f"{url}/v1/leads", json={"phone": "13512340001", "consent": True})
    assert ok.status_code == 201
    lead = store.get_lead(ok.json()["lead_id"])
    assert lead is not None and lead["consent_at"]
    assert lead["consent_version"] == api_server.settings.privacy_notice_version
    table = httpx.get(
        f"{url}/v1/leads", params={"format": "csv"}, headers={"X-API-Key": SUPPORT_KEY}
    ).text
    header = next(csv.reader(io.StringIO(table.lstrip("\ufeff"))))
    assert {"consent_at", "consent_version"} <= set(header)


def test_the_privacy_notice_names_what_is_kept_and_for_how_long(url: str, api_server: Any) -> None:
    body = httpx.get(f"{url}/v1/privacy").json()
    days = str(round(api_server.settings.lead_retention_days))
    assert days in body["notice"]["zh"] and days in body["notice"]["en"]
    assert "电话" in body["notice"]["zh"] and "phone" in body["notice"]["en"]
    assert body["version"] == api_server.settings.privacy_notice_version
