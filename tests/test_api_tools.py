"""The calculator and checklist routes over the real server, checked against the pure tools.

Expected results come from calling the tool functions with the Assistant's own parameters
(``toolbox.policy`` / ``toolbox.rating``), so these tests prove the routes wrap the tools
faithfully rather than re-testing the maths (that is tests/test_tools_*.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from assistant.api.errors import MESSAGES
from assistant.models import Lang
from assistant.tools import calculators, claims, premium

ToolFn = Callable[[Any, Any, Lang], BaseModel]  # (input, toolbox, lang) -> result


@pytest.fixture(scope="module")
def url(api_server: Any) -> str:
    return str(api_server.url)


@pytest.fixture(scope="module")
def toolbox(api_server: Any) -> Any:
    return api_server.assistant.toolbox


def _premium(inp: Any, tb: Any, lang: Lang) -> BaseModel:
    return premium.estimate_premium(inp, tb.rating, tb.policy, lang=lang)


def _claim(inp: Any, tb: Any, lang: Lang) -> BaseModel:
    return claims.claim_checklist(inp, tb.policy, lang=lang)


def _plan(inp: Any, tb: Any, lang: Lang) -> BaseModel:
    return calculators.payment_plan(inp, tb.policy, lang=lang)


# path, input model, pure function
TOOLS: dict[str, tuple[type[BaseModel], ToolFn]] = {
    "/v1/tools/premium-estimate": (premium.PremiumInput, _premium),
    "/v1/tools/claim-checklist": (claims.ClaimInput, _claim),
    "/v1/tools/dso": (calculators.DsoInput, lambda i, tb, lang: calculators.dso(i, lang=lang)),
    "/v1/tools/liquidity": (
        calculators.LiquidityInput,
        lambda i, tb, lang: calculators.liquidity(i, lang=lang),
    ),
    "/v1/tools/recovery-sales": (
        calculators.RecoveryInput,
        lambda i, tb, lang: calculators.recovery_sales(i, lang=lang),
    ),
    "/v1/tools/payment-plan": (calculators.PaymentPlanInput, _plan),
}

HAPPY: dict[str, dict[str, Any]] = {
    "/v1/tools/premium-estimate": {
        "annual_credit_sales": 20_000_000,
        "industry": "钢材贸易",
        "buyer_count": 12,
        "largest_buyer_share_pct": 35,
        "avg_credit_days": 90,
        "max_credit_days": 150,
        "bad_debt_losses_3y": 300_000,
    },
    "/v1/tools/claim-checklist": {
        "cause": "protracted_default",
        "due_date": "2026-08-31",
        "today": "2026-10-20",
        "amount": 480_000,
        "documents_held": ["合同和发票，没有送货单"],
    },
    "/v1/tools/dso": {
        "receivables": 3_500_000,
        "credit_sales": 18_000_000,
        "credit_terms_days": 60,
    },
    "/v1/tools/liquidity": {
        "current_liabilities": 8_000_000,
        "cash": 2_400_000,
        "marketable_securities": 500_000,
        "current_assets": 11_000_000,
    },
    "/v1/tools/recovery-sales": {"bad_debt": 250_000, "margin_pct": 6.5},
    "/v1/tools/payment-plan": {
        "amount": 100_000,
        "instalments": 4,
        "first_date": "2026-03-31",
        "original_due_date": "2026-02-15",
    },
}


def _headers(lang: Lang) -> dict[str, str]:
    return {"Accept-Language": "en-US,en;q=0.9" if lang == "en" else "zh-CN,zh;q=0.9"}


def _expected(path: str, body: dict[str, Any], toolbox: Any, lang: Lang) -> dict[str, Any]:
    model, fn = TOOLS[path]
    return fn(model.model_validate(body), toolbox, lang).model_dump(mode="json")


def _has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", list(TOOLS))
def test_each_tool_route_returns_the_pure_tools_result_in_the_callers_language(
    url: str, toolbox: Any, path: str, lang: Lang
) -> None:
    resp = httpx.post(url + path, json=HAPPY[path], headers=_headers(lang))
    assert resp.status_code == 200, resp.text
    assert resp.json() == _expected(path, HAPPY[path], toolbox, lang)
    assert resp.headers["content-language"] == lang


def test_human_readable_text_is_chinese_by_default_and_english_on_request(url: str) -> None:
    path = "/v1/tools/premium-estimate"
    zh = httpx.post(url + path, json=HAPPY[path]).json()  # no Accept-Language at all
    en = httpx.post(url + path, json=HAPPY[path], headers=_headers("en")).json()
    # Assumptions may quote the customer's own wording ('钢材贸易'); the rest is ours.
    zh_text = [zh["disclaimer"], zh["industry_label"], *(f["label"] for f in zh["breakdown"])]
    en_text = [en["disclaimer"], en["industry_label"], *(f["label"] for f in en["breakdown"])]
    assert all(_has_chinese(t) for t in zh_text)
    assert not any(_has_chinese(t) for t in en_text)
    assert zh["base"] == en["base"]  # the language changes the words, not the numbers


def test_a_premium_estimate_needs_only_the_sales_figure(url: str) -> None:
    # Answer first: the industry defaults to the "other industries" range, said so in the
    # assumptions; the terms, buyers and the rest take rating.yaml's defaults.
    body = httpx.post(url + "/v1/tools/premium-estimate", json={"annual_credit_sales": 1e7})
    assert body.status_code == 200, body.text
    out = body.json()
    assert out["industry"] == "other" and out["industry_assumed"] is True
    assert any("未提供买家行业" in a for a in out["assumptions"])
    assert all(f["assumed"] for f in out["breakdown"])
    assert out["low"] <= out["base"] <= out["high"]


def test_claim_checklist_counts_days_from_the_assistants_clock(
    url: str, api_server: Any, toolbox: Any
) -> None:
    body = {"cause": "protracted_default", "due_date": "2026-09-30"}
    resp = httpx.post(f"{url}/v1/tools/claim-checklist", json=body)
    assert resp.status_code == 200, resp.text
    today = api_server.assistant.today()
    expected = _expected("/v1/tools/claim-checklist", {**body, "today": today}, toolbox, "zh")
    assert resp.json() == expected
    notice = next(d for d in resp.json()["key_dates"] if d["key"] == "notification_deadline")
    assert notice["days_left"] == (date.fromisoformat(notice["date"]) - today).days


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/tools/premium-estimate", {"annual_credit_sales": -5, "industry": "电子"}, "annual_"),
        ("/v1/tools/premium-estimate", {"annual_credit_sales": 1e6, "industry": ""}, "industry"),
        ("/v1/tools/dso", {"receivables": 100, "credit_sales": 0}, "credit_sales"),
        ("/v1/tools/claim-checklist", {"cause": "fire"}, "cause"),
        (
            "/v1/tools/payment-plan",
            {"amount": 100, "instalments": 2, "first_date": "2025-02-29"},
            "first_date",
        ),
    ],
)
def test_bad_input_gets_a_422_naming_the_field_in_the_callers_language(
    url: str, path: str, body: dict[str, Any], field: str, lang: Lang
) -> None:
    resp = httpx.post(url + path, json=body, headers=_headers(lang))
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(MESSAGES["invalid_request"][lang].split("{detail}")[0])
    assert field in error["message"]
    assert "Traceback" not in resp.text and "/assistant/" not in resp.text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # A monthly plan that would run past the year 9999 (it used to overflow).
        (
            "/v1/tools/payment-plan",
            {
                "amount": 1000,
                "instalments": 24,
                "first_date": "9999-01-31",
                "original_due_date": "9998-12-31",
            },
            "first_date",
        ),
        # Deadlines counted from a due date at the end of the calendar.
        (
            "/v1/tools/claim-checklist",
            {"cause": "protracted_default", "due_date": "9999-12-01", "today": "2026-01-05"},
            "due_date",
        ),
    ],
)
def test_dates_beyond_a_sane_range_are_a_422_naming_the_field_not_a_500(
    url: str, path: str, body: dict[str, Any], field: str, lang: Lang
) -> None:
    resp = httpx.post(url + path, json=body, headers=_headers(lang))
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"] and "1990" in error["message"]
    assert _has_chinese(error["message"]) == (lang == "zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/tools/premium-estimate",
            b'{"annual_credit_sales": 1e300, "industry": "steel"}',
            "annual_credit_sales",
        ),
        ("/v1/tools/recovery-sales", b'{"bad_debt": 1e300, "margin_pct": 0.01}', "bad_debt"),
        # Python's JSON parser reads 1e400 as infinity.
        ("/v1/tools/dso", b'{"receivables": 1e400, "credit_sales": 1000}', "receivables"),
        ("/v1/tools/liquidity", b'{"cash": 1e30, "current_liabilities": 1}', "cash"),
    ],
)
def test_absurd_or_infinite_amounts_are_refused_naming_the_field(
    url: str, path: str, body: bytes, field: str, lang: Lang
) -> None:
    resp = httpx.post(
        url + path, content=body, headers={"Content-Type": "application/json", **_headers(lang)}
    )
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]
    assert _has_chinese(error["message"]) == (lang == "zh")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tools/dso", {"receivables": 0, "credit_sales": 1_000_000, "credit_terms_days": 30}),
        ("/v1/tools/dso", {"receivables": 5e13, "credit_sales": 1, "period_days": 730}),
        ("/v1/tools/liquidity", {"current_liabilities": 1_000_000, "cash": 0}),
        ("/v1/tools/liquidity", {"current_liabilities": 0.01, "cash": 1e12}),
        ("/v1/tools/premium-estimate", {"annual_credit_sales": 0.01, "industry": "不知道"}),
        ("/v1/tools/premium-estimate", {"annual_credit_sales": 1e15, "industry": "electronics"}),
        ("/v1/tools/recovery-sales", {"bad_debt": 1e12, "margin_pct": 100}),
        (
            "/v1/tools/claim-checklist",
            {"cause": "insolvency", "aware_on": "2024-02-29", "today": "2024-02-29"},
        ),
        (
            "/v1/tools/claim-checklist",
            {"cause": "protracted_default", "due_date": "2023-12-30", "today": "2024-02-29"},
        ),
        (
            "/v1/tools/claim-checklist",
            {"cause": "dispute", "judgment_on": "2028-02-29", "today": "2028-02-29"},
        ),
        (
            "/v1/tools/payment-plan",
            {
                "amount": 0.05,
                "instalments": 5,
                "first_date": "2024-01-31",
                "original_due_date": "2024-02-29",
            },
        ),
        (
            "/v1/tools/payment-plan",
            {
                "amount": 1e12,
                "instalments": 60,
                "first_date": "2024-02-29",
                "original_due_date": "2023-12-31",
            },
        ),
        (
            "/v1/tools/payment-plan",
            {
                "amount": 999.99,
                "instalments": 3,
                "interval_days": 365,
                "first_date": "2024-02-29",
                "original_due_date": "2024-02-29",
            },
        ),
    ],
)
def test_odd_but_valid_input_gets_the_pure_tools_answer(
    url: str, toolbox: Any, path: str, body: dict[str, Any]
) -> None:
    resp = httpx.post(url + path, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json() == _expected(path, body, toolbox, "zh")


def test_tool_routes_are_public_and_ignore_a_wrong_key(url: str) -> None:
    path = "/v1/tools/recovery-sales"
    resp = httpx.post(url + path, json=HAPPY[path], headers={"X-API-Key": "not-a-key"})
    assert resp.status_code == 200


def test_openapi_documents_each_tool_route_with_its_request_and_response_schema(
    url: str,
) -> None:
    spec = httpx.get(f"{url}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    results = {
        "/v1/tools/premium-estimate": premium.PremiumEstimate,
        "/v1/tools/claim-checklist": claims.ClaimChecklist,
        "/v1/tools/dso": calculators.DsoResult,
        "/v1/tools/liquidity": calculators.LiquidityResult,
        "/v1/tools/recovery-sales": calculators.RecoveryResult,
        "/v1/tools/payment-plan": calculators.PaymentPlanResult,
    }
    for path, (model, _) in TOOLS.items():
        post = spec["paths"][path]["post"]
        assert "security" not in post
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        own = model.model_json_schema()
        assert set(body["properties"]) == set(own["properties"])
        assert set(body.get("required", [])) == set(own.get("required", []))
        assert all(body["properties"][k].get("description") for k in own["required"])
        out = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(schemas[out.rsplit("/", 1)[1]]["properties"]) == set(results[path].model_fields)


def test_tool_list_gives_each_routes_path_and_input_schema(url: str, toolbox: Any) -> None:
    listed = httpx.get(f"{url}/v1/tools").json()["tools"]
    assert [t["path"] for t in listed] == list(TOOLS)
    for item in listed:
        assert item["input_schema"] == toolbox.specs[item["name"]].input_model.model_json_schema()
        assert item["input_schema"] == TOOLS[item["path"]][0].model_json_schema()
        assert item["description"]
    # Every listed path answers its own happy-path example.
    for item in listed:
        assert httpx.post(url + item["path"], json=HAPPY[item["path"]]).status_code == 200
