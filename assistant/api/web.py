"""(in progress) The embeddable widget (``/widget.js``) and the demo lead-form page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["web"], include_in_schema=False)
