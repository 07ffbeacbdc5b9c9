"""Consent under the Personal Information Protection Law (个人信息保护法).

Wherever a name or phone number is collected (the UI lead form, the widget's own form, the
chat hand-off), the person sees a short notice: what is collected, what for, for how long
(``LEAD_RETENTION_DAYS``) and a link to ``PRIVACY_POLICY_URL``. The lead stores when the
notice was agreed to and its version (``PRIVACY_NOTICE_VERSION``); the wording lives in
``assistant/locales`` (``consent.*``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from assistant.i18n import t

if TYPE_CHECKING:
    from assistant.config import Settings


def notice(lang: str, settings: Settings) -> str:
    """The consent notice in ``lang``, with the policy link when one is configured."""
    text = t(lang, "consent.notice", days=round(settings.lead_retention_days))
    if settings.privacy_policy_url:
        text += " " + t(lang, "consent.policy", url=settings.privacy_policy_url)
    return text


def consent_now(settings: Settings) -> tuple[datetime, str]:
    """(when, notice version) to store with a lead whose person just agreed."""
    return datetime.now(UTC), settings.privacy_notice_version
