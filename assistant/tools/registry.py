"""The tool belt both answer modes share.

``Toolbox`` binds the pure tool functions to their parameters (``knowledge/*.yaml``), the
store and the clock, validates arguments with each tool's pydantic input model and
records every call as a :class:`~assistant.models.ToolCall`. Grounded mode calls
``Toolbox.run`` directly; the LLM agent (``assistant/agent.py``) wraps the same
``ToolSpec`` entries as LangChain ``StructuredTool`` objects, so both modes run the same
code with the same validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from assistant import metrics
from assistant.knowledge.params import PolicyParams, RatingParams
from assistant.models import Lang, ToolCall
from assistant.storage import Store
from assistant.tools import calculators, claims, leads, premium

if TYPE_CHECKING:
    from assistant.config import Settings


class SearchInput(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="The question to look up.")


@dataclass
class ToolSpec:
    name: str
    description: str
    input_model: type[BaseModel]
    run: Callable[[Any, Any], BaseModel]


@dataclass
class Toolbox:
    policy: PolicyParams
    rating: RatingParams
    store: Store
    today: Callable[[], date] = date.today
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    # For the consent notice of the chat hand-off (retention days, policy URL, version).
    settings: Settings | None = None

    def __post_init__(self) -> None:
        p, r = self.policy, self.rating

        def quote(inp: Any, lang: Lang) -> BaseModel:
            return premium.estimate_premium(inp, r, p, lang=lang)

        def checklist(inp: Any, lang: Lang) -> BaseModel:
            if inp.today is None:
                inp = inp.model_copy(update={"today": self.today()})
            return claims.claim_checklist(inp, p, lang=lang)

        def plan(inp: Any, lang: Lang) -> BaseModel:
            return calculators.payment_plan(inp, p, lang=lang)

        for spec in (
            ToolSpec(
                "estimate_premium",
                "Indicative trade credit insurance premium range (low/base/high, CNY) with a "
                "factor breakdown. Needs annual credit sales and the buyers' industry.",
                premium.PremiumInput,
                quote,
            ),
            ToolSpec(
                "claim_checklist",
                "Documents needed for a claim and its key dates (overdue notification "
                "deadline, claim deadline, date of loss) for a cause of loss.",
                claims.ClaimInput,
                checklist,
            ),
            ToolSpec(
                "dso",
                "Days sales outstanding from receivables and credit sales.",
                calculators.DsoInput,
                lambda inp, lang: calculators.dso(inp, lang=lang),
            ),
            ToolSpec(
                "liquidity",
                "Cash ratio and current ratio.",
                calculators.LiquidityInput,
                lambda inp, lang: calculators.liquidity(inp, lang=lang),
            ),
            ToolSpec(
                "recovery_sales",
                "New sales needed to earn back a bad debt at a given profit margin.",
                calculators.RecoveryInput,
                lambda inp, lang: calculators.recovery_sales(inp, lang=lang),
            ),
            ToolSpec(
                "payment_plan",
                "Instalment schedule for an overdue debt; flags instalments that need the "
                "insurer's consent because they fall beyond the maximum extension period.",
                calculators.PaymentPlanInput,
                plan,
            ),
        ):
            self.specs[spec.name] = spec

    def validate(self, name: str, args: dict[str, Any]) -> BaseModel:
        return self.specs[name].input_model.model_validate(args)

    def run(self, name: str, args: dict[str, Any], lang: str) -> tuple[Any, ToolCall]:
        """Validate and run one tool; raises ``ValidationError`` on bad arguments."""
        spec = self.specs[name]
        try:
            inp = spec.input_model.model_validate(args)
        except ValidationError:
            metrics.TOOL_CALLS.labels(tool=name, outcome="invalid").inc()
            raise
        result = spec.run(inp, lang)
        metrics.TOOL_CALLS.labels(tool=name, outcome="ok").inc()
        call = ToolCall(
            name=name,
            args=inp.model_dump(mode="json", exclude_none=True),
            result=result.model_dump(mode="json"),
        )
        return result, call

    def capture_lead(
        self,
        inp: leads.LeadInput,
        *,
        transcript: list[dict[str, Any]] | None,
        lang: str,
        consent: tuple[datetime, str] | None = None,
    ) -> tuple[leads.LeadResult, ToolCall]:
        result = leads.capture_lead(
            inp, self.store, transcript=transcript, lang=lang, consent=consent
        )
        metrics.TOOL_CALLS.labels(tool="capture_lead", outcome="ok").inc()
        # The reply goes back to the person who typed the number; logs mask it.
        args = inp.model_dump(mode="json", exclude_none=True)
        return result, ToolCall(
            name="capture_lead", args=args, result=result.model_dump(mode="json")
        )


def error_text(err: ValidationError) -> str:
    """Validation errors as one line an LLM (or a log) can act on."""
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors(include_url=False)
    )


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
