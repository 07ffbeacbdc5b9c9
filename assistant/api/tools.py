"""The calculators and checklists as plain HTTP endpoints, for the UI and the widget.

Public like ``/v1/chat``: a premium quote or a DSO figure reveals nothing about anyone.
Each route takes the tool's own pydantic input model as its body (so ``/openapi.json``
documents every field) and returns the tool's own result model. The tool runs through the
Assistant's ``Toolbox``, so the routes, grounded mode and the LLM agent share one set of
parameters from ``knowledge/*.yaml`` and one clock. Human-readable text (interpretations,
warnings, the disclaimer) follows ``Accept-Language``, like the error messages do.
"""

from __future__ import annotations

import logging
import math
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from assistant.api.deps import AssistantDep
from assistant.api.errors import ApiError, request_lang
from assistant.api.ratelimit import LIMITED, limit_ip
from assistant.tools.calculators import (
    DsoInput,
    DsoResult,
    LiquidityInput,
    LiquidityResult,
    PaymentPlanInput,
    PaymentPlanResult,
    RecoveryInput,
    RecoveryResult,
)
from assistant.tools.claims import ClaimChecklist, ClaimInput
from assistant.tools.premium import PremiumEstimate, PremiumInput

log = logging.getLogger(__name__)
# Every route here is public (or reachable with a leaked key): the IP limit applies to all
# of them; FastAPI runs the same dependency once per request when a route names it too.
router = APIRouter(
    prefix="/v1", tags=["tools"], dependencies=[Depends(limit_ip)], responses=LIMITED
)

ResultT = TypeVar("ResultT", bound=BaseModel)

# Toolbox tool name -> route path under /v1; GET /v1/tools lists them in this order.
PATHS: dict[str, str] = {
    "estimate_premium": "/tools/premium-estimate",
    "claim_checklist": "/tools/claim-checklist",
    "dso": "/tools/dso",
    "liquidity": "/tools/liquidity",
    "recovery_sales": "/tools/recovery-sales",
    "payment_plan": "/tools/payment-plan",
}

OUT_OF_RANGE = "api.tools.out_of_range"  # locale key of the 422 out_of_range message


def _run(
    name: str,
    inp: BaseModel,
    result_type: type[ResultT],
    assistant: Any,
    request: Request,
    response: Response,
) -> ResultT:
    """Run one tool through the shared Toolbox in the caller's language.

    Input that passes validation can still be beyond what the maths handles (a date past
    year 9999, a sum too large to round exactly); that is the caller's input, so it is
    a 422 and not a 500.
    """
    lang = request_lang(request)
    response.headers["Content-Language"] = lang
    try:
        result = assistant.toolbox.specs[name].run(inp, lang)
    except (ArithmeticError, ValueError) as exc:
        log.info("tool %s: input out of range (%s)", name, type(exc).__name__)
        raise ApiError(422, "out_of_range", OUT_OF_RANGE) from None
    if not isinstance(result, result_type):
        raise TypeError(f"tool {name} returned {type(result).__name__}")
    if not _finite(result.model_dump()):
        # JSON has no inf: the figure would go out as null under a number schema.
        log.info("tool %s: a result is not finite", name)
        raise ApiError(422, "out_of_range", OUT_OF_RANGE)
    return result


def _finite(value: Any) -> bool:
    """Every float in a dumped result is finite (no inf, no nan)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return True


class ToolInfo(BaseModel):
    name: str = Field(description="Tool name, as the assistant's tool calls name it.")
    path: str = Field(description="POST the input here.")
    description: str
    input_schema: dict[str, Any] = Field(description="JSON Schema of the request body.")


class ToolList(BaseModel):
    tools: list[ToolInfo]


@router.get("/tools", response_model=ToolList)
def list_tools(assistant: AssistantDep) -> ToolList:
    """What the calculators are and what each accepts, so a UI can build its forms."""
    specs = assistant.toolbox.specs
    return ToolList(
        tools=[
            ToolInfo(
                name=name,
                path=router.prefix + path,
                description=specs[name].description,
                input_schema=specs[name].input_model.model_json_schema(),
            )
            for name, path in PATHS.items()
        ]
    )


@router.post(PATHS["estimate_premium"], response_model=PremiumEstimate)
def premium_estimate(
    body: PremiumInput, assistant: AssistantDep, request: Request, response: Response
) -> PremiumEstimate:
    """Indicative annual premium range with the factor-by-factor reasoning behind it."""
    return _run("estimate_premium", body, PremiumEstimate, assistant, request, response)


@router.post(PATHS["claim_checklist"], response_model=ClaimChecklist)
def claim_checklist(
    body: ClaimInput, assistant: AssistantDep, request: Request, response: Response
) -> ClaimChecklist:
    """Documents and deadlines for a claim on one buyer; ``today`` defaults to the server's."""
    return _run("claim_checklist", body, ClaimChecklist, assistant, request, response)


@router.post(PATHS["dso"], response_model=DsoResult)
def dso(body: DsoInput, assistant: AssistantDep, request: Request, response: Response) -> DsoResult:
    """Days sales outstanding, compared with the payment terms when they are given."""
    return _run("dso", body, DsoResult, assistant, request, response)


@router.post(PATHS["liquidity"], response_model=LiquidityResult)
def liquidity(
    body: LiquidityInput, assistant: AssistantDep, request: Request, response: Response
) -> LiquidityResult:
    """Cash ratio, and current ratio when current assets are given."""
    return _run("liquidity", body, LiquidityResult, assistant, request, response)


@router.post(PATHS["recovery_sales"], response_model=RecoveryResult)
def recovery_sales(
    body: RecoveryInput, assistant: AssistantDep, request: Request, response: Response
) -> RecoveryResult:
    """Extra sales needed to earn a bad debt back at a given margin."""
    return _run("recovery_sales", body, RecoveryResult, assistant, request, response)


@router.post(PATHS["payment_plan"], response_model=PaymentPlanResult)
def payment_plan(
    body: PaymentPlanInput, assistant: AssistantDep, request: Request, response: Response
) -> PaymentPlanResult:
    """Instalment schedule, flagging instalments that need the insurer's consent."""
    return _run("payment_plan", body, PaymentPlanResult, assistant, request, response)
