"""Schemas for ``knowledge/policy.yaml`` and ``knowledge/rating.yaml``.

The business edits these files, so a bad value must fail loudly at load time with the
file and the field named ("rating.yaml: factors.buyer_count.1.factor: ..."), never later
as a wrong quote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.knowledge.documents import format_validation_error

Pct = Annotated[float, Field(gt=0, le=100)]
PosInt = Annotated[int, Field(gt=0)]


class ParamsError(ValueError):
    """A parameters file is missing, unreadable or invalid; the message names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


Alias = Annotated[str, Field(min_length=1)]


class Aliases(_Strict):
    """Everyday words for a document or an industry, per language (free-text matching)."""

    zh: list[Alias] = Field(default_factory=list)
    en: list[Alias] = Field(default_factory=list)


# --- policy.yaml ------------------------------------------------------------------------


class Indemnity(_Strict):
    approved_limit_pct: Pct
    discretionary_limit_pct: Pct


class DiscretionaryLimit(_Strict):
    max_amount: PosInt
    min_prior_orders_12m: PosInt
    max_overdue_days_on_prior_orders: Annotated[int, Field(ge=0)]
    credit_report_max_age_months: PosInt
    prior_orders_window_months: PosInt = 12


class LimitApplication(_Strict):
    answer_working_days: PosInt
    check_fee_per_buyer: Annotated[float, Field(ge=0)]
    check_fee_payment_days: PosInt = 30


class Overdue(_Strict):
    mep_days: PosInt
    notification_days: PosInt
    stop_cover_days: PosInt = 60
    paid_report_working_days: PosInt = 10


class ClaimDeadline(_Strict):
    insolvency_days_after_awareness: PosInt
    default_days_after_notification_deadline: PosInt
    dispute_days_after_judgment: PosInt


class CauseOfLoss(Bilingual):
    clause: PosInt


class ClaimDocument(Bilingual):
    # The id is what tools and stored checklists refer to, so it must stay stable and unique.
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    clause: PosInt | None = None
    aliases: Aliases = Field(default_factory=Aliases)


class Documents(_Strict):
    common: list[ClaimDocument] = Field(min_length=1)
    insolvency: list[ClaimDocument] = Field(min_length=1)
    protracted_default: list[ClaimDocument] = Field(min_length=1)
    dispute: list[ClaimDocument] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Documents:
        seen: set[str] = set()
        for name in type(self).model_fields:
            for doc in getattr(self, name):
                if doc.id in seen:
                    raise ValueError(f"document id '{doc.id}' is used twice (in {name})")
                seen.add(doc.id)
        return self


class ClauseNumbers(_Strict):
    """Article numbers of the sample wording that the tools cite."""

    cover_conditions: PosInt
    insolvency_event: PosInt
    protracted_default: PosInt
    disputed_receivables: PosInt
    max_credit_period: PosInt
    minimum_premium: PosInt
    credit_check_fee: PosInt
    indemnity_pct: PosInt
    loss_amount: PosInt
    overdue_notification: PosInt
    after_overdue: PosInt
    waiting_period: PosInt
    claim_deadline: PosInt
    claim_documents: PosInt
    insolvency_documents: PosInt
    default_documents: PosInt
    claim_payment: PosInt
    dispute_precedent: PosInt


class Reminders(_Strict):
    deadline_warning_days: Annotated[int, Field(ge=0, le=365)]


class PolicyParams(_Strict):
    policy_id: str
    label: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    policy_period_months: PosInt
    renewal_notice_days: PosInt
    indemnity: Indemnity
    discretionary_limit: DiscretionaryLimit
    credit_limit_application: LimitApplication
    max_credit_period_days: Annotated[int, Field(gt=0, le=720)]
    declaration_day_of_next_month: Annotated[int, Field(ge=1, le=28)]
    premium_payment_days: PosInt
    minimum_premium: Annotated[float, Field(ge=0)]
    max_liability_multiple_of_premium: Annotated[float, Field(gt=0)]
    overdue: Overdue
    waiting_period_days: PosInt
    claim_deadline: ClaimDeadline
    claim_payment_days: PosInt
    recovery_remit_working_days: PosInt
    adverse_info_report_working_days: PosInt
    dispute_report_working_days: PosInt = 10
    premium_cure_days: PosInt = 30
    record_retention_years: PosInt = 3
    affiliate_shareholding_pct: Pct = 50
    causes_of_loss: dict[str, CauseOfLoss] = Field(min_length=1)
    documents: Documents
    clauses: ClauseNumbers
    reminders: Reminders

    @model_validator(mode="after")
    def _consistent(self) -> PolicyParams:
        if self.indemnity.discretionary_limit_pct > self.indemnity.approved_limit_pct:
            raise ValueError(
                "indemnity.discretionary_limit_pct must not exceed indemnity.approved_limit_pct"
            )
        if self.overdue.notification_days > self.waiting_period_days:
            raise ValueError("overdue.notification_days must not exceed waiting_period_days")
        missing = {"insolvency", "protracted_default"} - set(self.causes_of_loss)
        if missing:
            raise ValueError(f"causes_of_loss is missing {sorted(missing)}")
        return self


# --- rating.yaml ------------------------------------------------------------------------


class Industry(Bilingual):
    min_pct: Annotated[float, Field(gt=0, le=10)]
    max_pct: Annotated[float, Field(gt=0, le=10)]
    aliases: Aliases = Field(default_factory=Aliases)
    # A way of doing business (trading, services) rather than goods: matched only when no
    # goods industry matches, so "钢材贸易" rates as steel.
    generic: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Industry:
        if self.min_pct > self.max_pct:
            raise ValueError("min_pct must not exceed max_pct")
        return self


class Band(_Strict):
    max: float | None = Field(description="Upper bound, inclusive; null means no bound.")
    factor: Annotated[float, Field(gt=0, le=10)]


def _check_bands(name: str, bands: list[Band]) -> None:
    bounds = [b.max for b in bands]
    if any(b is None for b in bounds[:-1]):
        raise ValueError(f"factors.{name}: only the last band may have max: null")
    finite = [b for b in bounds if b is not None]
    if finite != sorted(finite) or len(set(finite)) != len(finite):
        raise ValueError(f"factors.{name}: band 'max' values must be strictly ascending")


class Factors(_Strict):
    credit_terms_days: list[Band] = Field(min_length=1)
    buyer_count: list[Band] = Field(min_length=1)
    largest_buyer_share_pct: list[Band] = Field(min_length=1)
    bad_debt_ratio_pct: list[Band] = Field(min_length=1)
    indemnity_pct: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_ascending(self) -> Factors:
        for name in type(self).model_fields:
            _check_bands(name, getattr(self, name))
        return self


class RatingDefaults(_Strict):
    """Values assumed for inputs the customer did not give."""

    avg_credit_days: Annotated[int, Field(ge=0, le=720)]
    buyer_count: PosInt
    largest_buyer_share_pct: Pct
    bad_debt_ratio_pct: Annotated[float, Field(ge=0, le=100)]


FALLBACK_INDUSTRY = "other"


class RatingParams(_Strict):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    minimum_premium: Annotated[float, Field(ge=0)]
    credit_check_fee_per_buyer: Annotated[float, Field(ge=0)]
    industries: dict[str, Industry] = Field(min_length=1)
    defaults: RatingDefaults
    concentration_warning_pct: Pct
    disclaimer: Bilingual
    factors: Factors

    @model_validator(mode="after")
    def _has_fallback(self) -> RatingParams:
        if FALLBACK_INDUSTRY not in self.industries:
            raise ValueError(
                f"industries must include '{FALLBACK_INDUSTRY}' (used for unrecognised text)"
            )
        return self


# --- synonyms.yaml ----------------------------------------------------------------------

Terms = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class Synonyms(_Strict):
    """Colloquial wording -> document terms, per language (query expansion for BM25)."""

    zh: dict[str, Terms] = Field(default_factory=dict)
    en: dict[str, Terms] = Field(default_factory=dict)
    typos: dict[str, str] = Field(
        default_factory=dict,
        description="Common misspellings -> the right word, fixed before routing (索陪 -> 索赔).",
    )


# --- loading ----------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def load_params(path: Path, model: type[M]) -> M:
    """Read and validate a YAML parameters file; errors name the file and the field."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path.name}: file not found at {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ParamsError(f"{path.name}: cannot read: {err}") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path.name}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path.name}: expected a mapping of fields at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ParamsError(f"{path.name}: {format_validation_error(err)}") from None


def load_policy_params(path: Path) -> PolicyParams:
    return load_params(path, PolicyParams)


def load_rating_params(path: Path) -> RatingParams:
    return load_params(path, RatingParams)
