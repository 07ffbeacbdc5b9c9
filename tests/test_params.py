"""policy.yaml / rating.yaml validation: the shipped files load, bad edits fail loudly.

Each bad edit is written as a real file (``yaml.safe_dump`` of the shipped data with one
change) and must raise :class:`ParamsError` whose message names the file and the field,
so whoever edits the YAML can find the mistake without reading code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.knowledge.params import (
    ParamsError,
    PolicyParams,
    RatingParams,
    load_policy_params,
    load_rating_params,
)

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
LOADERS: dict[str, Callable[[Path], Any]] = {
    "policy.yaml": load_policy_params,
    "rating.yaml": load_rating_params,
}


# --- helpers ----------------------------------------------------------------------------


def shipped(name: str) -> dict[str, Any]:
    data = yaml.safe_load((KNOWLEDGE / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _parent(data: Any, dotted: str) -> tuple[Any, str | int]:
    """The container holding ``dotted`` ('factors.buyer_count.1.factor') and the last key."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = data
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def set_field(dotted: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node, key = _parent(data, dotted)
        node[key] = value

    return edit


def delete_field(dotted: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node, key = _parent(data, dotted)
        del node[key]

    return edit


def rename_field(dotted: str, new_name: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node, key = _parent(data, dotted)
        node[new_name] = node.pop(key)

    return edit


def edits(*steps: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for step in steps:
            step(data)

    return edit


def write_edited(tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = copy.deepcopy(shipped(name))
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_error(name: str, path: Path) -> str:
    with pytest.raises(ParamsError) as info:
        LOADERS[name](path)
    return str(info.value)


# --- the shipped files ------------------------------------------------------------------


def test_shipped_policy_yaml_loads() -> None:
    params = load_policy_params(KNOWLEDGE / "policy.yaml")
    assert isinstance(params, PolicyParams)
    assert params.indemnity.discretionary_limit_pct <= params.indemnity.approved_limit_pct


def test_shipped_rating_yaml_loads() -> None:
    params = load_rating_params(KNOWLEDGE / "rating.yaml")
    assert isinstance(params, RatingParams)
    assert params.industries


def test_rating_and_policy_agree_on_currency_minimum_premium_and_check_fee() -> None:
    policy = load_policy_params(KNOWLEDGE / "policy.yaml")
    rating = load_rating_params(KNOWLEDGE / "rating.yaml")
    assert rating.currency == policy.currency
    assert rating.minimum_premium == policy.minimum_premium
    assert rating.credit_check_fee_per_buyer == policy.credit_limit_application.check_fee_per_buyer


def test_rating_credit_terms_bands_reach_the_policy_maximum_credit_period() -> None:
    policy = load_policy_params(KNOWLEDGE / "policy.yaml")
    bands = load_rating_params(KNOWLEDGE / "rating.yaml").factors.credit_terms_days
    top = bands[-1].max
    assert top is None or top >= policy.max_credit_period_days


def test_rating_indemnity_bands_cover_both_policy_indemnity_percentages() -> None:
    policy = load_policy_params(KNOWLEDGE / "policy.yaml")
    bands = load_rating_params(KNOWLEDGE / "rating.yaml").factors.indemnity_pct
    top = bands[-1].max
    for pct in (policy.indemnity.approved_limit_pct, policy.indemnity.discretionary_limit_pct):
        assert top is None or pct <= top


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_unedited_copy_written_by_safe_dump_loads(tmp_path: Path, name: str) -> None:
    # Control for the bad-edit tests below: the round trip itself introduces no error.
    LOADERS[name](write_edited(tmp_path, name, lambda data: None))


# --- bad edits --------------------------------------------------------------------------

BAD_EDITS = [
    # (file, edit, field path the message must name), id = what the edit breaks
    pytest.param(
        "policy.yaml",
        set_field("indemnity.approved_limit_pct", -90),
        "indemnity.approved_limit_pct",
        id="negative-indemnity-pct",
    ),
    pytest.param(
        "policy.yaml",
        set_field("indemnity.approved_limit_pct", 110),
        "indemnity.approved_limit_pct",
        id="indemnity-pct-above-100",
    ),
    pytest.param(
        "policy.yaml",
        set_field("indemnity.discretionary_limit_pct", 95),
        "indemnity.discretionary_limit_pct",
        id="discretionary-pct-above-approved-pct",
    ),
    pytest.param(
        "policy.yaml",
        rename_field("waiting_period_days", "waiting_peroid_days"),
        "waiting_peroid_days",
        id="misspelled-key",
    ),
    pytest.param(
        "policy.yaml",
        set_field("overdue.grace_days", 10),
        "overdue.grace_days",
        id="extra-nested-key",
    ),
    pytest.param(
        "policy.yaml",
        delete_field("claim_deadline.insolvency_days_after_awareness"),
        "claim_deadline.insolvency_days_after_awareness",
        id="missing-required-key",
    ),
    pytest.param(
        "policy.yaml",
        set_field("max_credit_period_days", "180 days"),
        "max_credit_period_days",
        id="non-numeric-days",
    ),
    pytest.param(
        "policy.yaml",
        set_field("overdue.notification_days", 200),
        "overdue.notification_days",
        id="notification-after-waiting-period",
    ),
    pytest.param(
        "policy.yaml",
        delete_field("causes_of_loss.insolvency"),
        "causes_of_loss",
        id="missing-cause-of-loss",
    ),
    pytest.param(
        "policy.yaml",
        set_field("documents.common.0.en", ""),
        "documents.common.0.en",
        id="blank-document-name",
    ),
    pytest.param(
        "rating.yaml",
        set_field("industries.steel_metals.min_pct", -0.3),
        "industries.steel_metals.min_pct",
        id="negative-base-rate",
    ),
    pytest.param(
        "rating.yaml",
        edits(
            set_field("industries.textiles_apparel.min_pct", 0.60),
            set_field("industries.textiles_apparel.max_pct", 0.55),
        ),
        "industries.textiles_apparel",
        id="industry-min-above-max",
    ),
    pytest.param(
        "rating.yaml",
        set_field("factors.credit_terms_days.2.max", 45),
        "factors.credit_terms_days",
        id="non-ascending-bands",
    ),
    pytest.param(
        "rating.yaml",
        set_field("factors.largest_buyer_share_pct.1.max", 20),
        "factors.largest_buyer_share_pct",
        id="duplicate-band-bound",
    ),
    pytest.param(
        "rating.yaml",
        set_field("factors.buyer_count.0.max", None),
        "factors.buyer_count",
        id="unbounded-band-not-last",
    ),
    pytest.param(
        "rating.yaml",
        set_field("factors.buyer_count.1.factor", "high"),
        "factors.buyer_count.1.factor",
        id="non-numeric-factor",
    ),
    pytest.param(
        "rating.yaml",
        set_field("factors.bad_debt_ratio_pct.2.factor", 0),
        "factors.bad_debt_ratio_pct.2.factor",
        id="zero-factor",
    ),
    pytest.param(
        "rating.yaml",
        rename_field("factors.buyer_count", "buyer_cout"),
        "factors.buyer_cout",
        id="misspelled-factor-name",
    ),
    pytest.param(
        "rating.yaml",
        delete_field("minimum_premium"),
        "minimum_premium",
        id="missing-minimum-premium",
    ),
    pytest.param(
        "rating.yaml",
        set_field("currency", "rmb"),
        "currency",
        id="bad-currency-code",
    ),
]


@pytest.mark.parametrize(("name", "edit", "field"), BAD_EDITS)
def test_bad_edit_raises_params_error_naming_file_and_field(
    tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None], field: str
) -> None:
    message = load_error(name, write_edited(tmp_path, name, edit))
    assert message.startswith(f"{name}: "), message
    assert field in message, message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_invalid_yaml_syntax_raises_params_error_naming_file_and_line(
    tmp_path: Path, name: str
) -> None:
    lines = (KNOWLEDGE / name).read_text(encoding="utf-8").splitlines()
    # Break the first real field with an unclosed flow sequence.
    index = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    lines[index] = lines[index].replace(":", ": [", 1)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = load_error(name, path)
    assert message.startswith(f"{name}: "), message
    assert "not valid YAML" in message
    assert "line " in message, message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_missing_file_raises_params_error_naming_file(tmp_path: Path, name: str) -> None:
    message = load_error(name, tmp_path / name)
    assert message.startswith(f"{name}: "), message
    assert "not found" in message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_top_level_list_raises_params_error_naming_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(yaml.safe_dump([shipped(name)], allow_unicode=True), encoding="utf-8")
    message = load_error(name, path)
    assert message.startswith(f"{name}: "), message
    assert "mapping" in message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_empty_file_raises_params_error_naming_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("# all fields deleted\n", encoding="utf-8")
    message = load_error(name, path)
    assert message.startswith(f"{name}: "), message
    assert "mapping" in message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_non_utf8_file_raises_params_error_naming_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes((KNOWLEDGE / name).read_text(encoding="utf-8").encode("gbk"))
    message = load_error(name, path)
    assert message.startswith(f"{name}: "), message
