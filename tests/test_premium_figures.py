"""Figures shown right, over random inputs (hypothesis): every rate shown next to a premium
equals that premium divided by the sales (at the precision shown), and a figure lifted to
the minimum premium says so next to it, in the API result, the chat reply and the UI form."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from hypothesis import given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from assistant.dialogue import render as chat_render
from assistant.i18n import lookup
from assistant.knowledge.params import load_policy_params, load_rating_params
from assistant.tools._text import money
from assistant.tools.premium import PremiumEstimate, PremiumInput, estimate_premium
from assistant.ui import render as ui_render

POLICY = load_policy_params(Path("knowledge/policy.yaml"))
RATING = load_rating_params(Path("knowledge/rating.yaml"))
# The rate is shown to 3 decimals of a percent, the premium to the whole yuan.
SHOWN = 0.0005
MINIMUM_LABEL = {lang: lookup(lang, "ui.premium.at_minimum") for lang in ("zh", "en")}


def _tolerance(sales: float) -> float:
    return SHOWN + 0.5 / sales * 100 + 1e-9


inputs = st.fixed_dictionaries(
    {"annual_credit_sales": st.floats(100_000, 5_000_000_000, allow_nan=False)},
    optional={
        "industry": st.sampled_from(sorted(RATING.industries)),
        "buyer_count": st.integers(1, 2000),
        "largest_buyer_share_pct": st.floats(1, 100, allow_nan=False),
        "avg_credit_days": st.integers(1, 180),
        "bad_debt_losses_3y": st.floats(0, 50_000_000, allow_nan=False),
        "indemnity_pct": st.sampled_from([80, 85, 90, 95]),
    },
)


def _figures(est: PremiumEstimate) -> list[tuple[float, float, bool]]:
    return [
        (est.low, est.rate_low_pct, est.low_at_minimum),
        (est.base, est.rate_pct, est.minimum_applied),
        (est.high, est.rate_high_pct, est.high_at_minimum),
    ]


@settings(max_examples=200, deadline=None)
@given(fields=inputs, lang=st.sampled_from(["zh", "en"]))
def test_every_rate_is_premium_over_sales_and_the_minimum_is_named(
    fields: dict[str, object], lang: str
) -> None:
    try:
        inp = PremiumInput(**fields)  # type: ignore[arg-type]
    except ValidationError:
        reject()  # impossible together (a 1% largest buyer among 3 buyers)
    est = estimate_premium(inp, RATING, POLICY, lang=lang)
    sales = float(fields["annual_credit_sales"])  # type: ignore[arg-type]
    minimum = RATING.minimum_premium

    # The API result: a rated figure is its rate of the sales; a lifted one is flagged.
    for value, rate, floored in _figures(est):
        if floored:
            assert value == minimum and sales * rate / 100 < minimum
        else:
            assert value >= minimum
            assert abs(value / sales * 100 - rate) <= _tolerance(sales)

    # The chat reply: every percentage on the figure line is one shown premium / sales,
    # and a lifted figure is named as the minimum premium on that line.
    text = chat_render.premium(est, lang, sales, cite={})
    line = next(p for p in text.split("\n\n") if chat_render.money(est.high, lang) in p)
    rated = [v / sales * 100 for v, _, floored in _figures(est) if not floored]
    for shown in re.findall(r"(\d+(?:\.\d+)?)%", line):
        assert any(abs(float(shown) - r) <= _tolerance(sales) for r in rated), (shown, line)
    if est.low_at_minimum:
        assert MINIMUM_LABEL[lang] in line and chat_render.money(minimum, lang) in line, line

    # The UI form: each row shows its own rate, or says it is the minimum premium.
    html = unescape(ui_render.premium_html(est, lang))
    rows = re.findall(r'ca-range-value">([^<]+) <small>\(([^)]*)\)</small>', html)
    assert len(rows) == 3
    for (shown_value, note), (value, _, floored) in zip(rows, _figures(est), strict=True):
        assert shown_value == money(value, lang, est.currency)
        if floored:
            assert note == lookup(lang, "ui.premium.at_minimum")
        else:
            assert abs(float(note.rstrip("%")) - value / sales * 100) <= _tolerance(sales)
