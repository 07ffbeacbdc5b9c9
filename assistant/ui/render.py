"""HTML for the UI: answers with their footnotes, and the forms' results.

Pure functions from the tools' result models to small HTML strings, so they can be unit
tested without a browser and the callbacks stay thin. Every value that comes from a user,
a document or a tool is escaped. The bars are plain ``div`` widths (no chart library, no
CDN) and the classes are styled by ``theme.CSS``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from assistant.models import Citation, Lang, Reply
from assistant.tools._text import fmt_date, money, num
from assistant.tools.calculators import DsoResult, LiquidityResult, PaymentPlanResult
from assistant.tools.claims import ClaimChecklist
from assistant.tools.premium import PremiumEstimate
from assistant.ui.strings import norm_lang, ui_text

_MARKER = re.compile(r"\[(\d{1,2})\]")
_SPACE = re.compile(r"\s+")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _lang(lang: str) -> Lang:
    return norm_lang(lang)


def _days(n: int, lang: str) -> str:
    """'12 days left' / 'passed 3 days ago' / 'today', for a deadline's countdown."""
    if n == 0:
        return ui_text(lang, "claim.today")
    if n > 0:
        return ui_text(lang, "claim.days_left", n=n)
    return ui_text(lang, "claim.days_passed", n=-n)


# --- header -----------------------------------------------------------------------------


def header_html(lang: str) -> str:
    """Title, one line on what the page does, and the disclaimer every figure depends on."""
    return (
        '<header class="ca-header">'
        f"<h1>{esc(ui_text(lang, 'title'))}</h1>"
        f'<p class="ca-tagline">{esc(ui_text(lang, "tagline"))}</p>'
        f'<p class="ca-disclaimer" role="note">{esc(ui_text(lang, "disclaimer"))}</p>'
        "</header>"
    )


# --- chat -------------------------------------------------------------------------------


def citation_label(c: Citation) -> str:
    """The clause when the source is the policy wording, else the section's last part."""
    if c.clause:
        return c.clause
    return c.section.split(">")[-1].strip() if c.section else ""


def footnotes_html(citations: Sequence[Citation], lang: str) -> str:
    """Numbered sources under an answer; each opens (``<details>``) to its snippet.

    One line with no blank lines, so the chat's Markdown renderer keeps it one HTML block.
    """
    if not citations:
        return ""
    items: list[str] = []
    for c in sorted(citations, key=lambda c: c.n):
        where = citation_label(c)
        title = f"{c.title} · {where}" if where else c.title
        snippet = _SPACE.sub(" ", c.snippet).strip()
        items.append(
            f'<li class="ca-cite" id="ca-cite-{c.n}"><details>'
            f'<summary><span class="ca-cite-n">[{c.n}]</span> {esc(title)}</summary>'
            f'<blockquote class="ca-snippet">{esc(snippet)}</blockquote>'
            + (f'<p class="ca-cite-sec">{esc(c.section)}</p>' if c.section else "")
            + "</details></li>"
        )
    return (
        f'<div class="ca-cites"><p class="ca-cites-title">{esc(ui_text(lang, "chat.sources"))}'
        f'</p><ol class="ca-cite-list">{"".join(items)}</ol></div>'
    )


def answer_markdown(reply: Reply, lang: str) -> str:
    """The final answer as the chat shows it: [n] markers as superscripts that match the
    numbered footnotes, then the footnotes themselves."""
    known = {c.n for c in reply.citations}

    def sup(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f'<sup class="ca-ref">[{n}]</sup>' if n in known else m.group(0)

    text = _MARKER.sub(sup, reply.answer)
    notes = footnotes_html(reply.citations, lang)
    return f"{text}\n\n{notes}" if notes else text


# --- shared pieces ----------------------------------------------------------------------


def _list(title: str, lines: Iterable[str], cls: str) -> str:
    rows = "".join(f"<li>{esc(line)}</li>" for line in lines)
    if not rows:
        return ""
    return f'<section class="{cls}"><h4>{esc(title)}</h4><ul>{rows}</ul></section>'


def errors_html(messages: Sequence[str], lang: str) -> str:
    """Why a form was refused, as a list the user can fix field by field."""
    rows = "".join(f"<li>{esc(m)}</li>" for m in messages)
    return (
        f'<div class="ca-result ca-error" role="alert"><h4>{esc(ui_text(lang, "errors.title"))}'
        f"</h4><ul>{rows}</ul></div>"
    )


def notice_html(text: str, ok: bool = True) -> str:
    cls = "ca-ok" if ok else "ca-error"
    role = "status" if ok else "alert"
    return f'<div class="ca-result {cls}" role="{role}"><p>{esc(text)}</p></div>'


def _bar(fraction: float, cls: str = "") -> str:
    pct = max(0.0, min(1.0, fraction)) * 100
    return f'<span class="ca-bar {cls}"><span style="width:{pct:.1f}%"></span></span>'


# --- premium ----------------------------------------------------------------------------


def premium_html(est: PremiumEstimate, lang: str) -> str:
    """The range as three bars (low / central / high), then one row per rating factor with
    a bar around 1.0 so the owner sees what pushes the price up or down."""
    lang = _lang(lang)
    cur = est.currency
    top = max(est.high, 1.0)
    rows = []
    for key, value, rate, floored in (
        ("low", est.low, est.rate_low_pct, est.low_at_minimum),
        ("base", est.base, est.rate_pct, est.minimum_applied),
        ("high", est.high, est.rate_high_pct, est.high_at_minimum),
    ):
        # A figure lifted to the minimum premium says so; it shows no rate, since its rate
        # would not be that figure divided by the sales.
        note = ui_text(lang, "premium.at_minimum") if floored else f"{num(rate, 3)}%"
        rows.append(
            f'<div class="ca-range-row ca-range-{key}">'
            f'<span class="ca-range-label">{esc(ui_text(lang, f"premium.{key}"))}</span>'
            f"{_bar(value / top, 'ca-bar-' + key)}"
            f'<span class="ca-range-value">{esc(money(value, lang, cur))}'
            f" <small>({esc(note)})</small></span></div>"
        )
    headline = ui_text(
        lang,
        "premium.headline",
        low=money(est.low, lang, cur),
        high=money(est.high, lang, cur),
        base=money(est.base, lang, cur),
        industry=est.industry_label,
    )
    widest = max([1.5, *(line.factor for line in est.breakdown)])
    factor_rows = []
    for line in est.breakdown:
        direction = "bad" if line.factor > 1 else "good" if line.factor < 1 else "flat"
        assumed = (
            f' <span class="ca-tag">{esc(ui_text(lang, "premium.assumed"))}</span>'
            if line.assumed
            else ""
        )
        factor_rows.append(
            f'<tr class="ca-factor ca-{direction}"><td><b>{esc(line.label)}</b>{assumed}'
            f"<br><small>{esc(line.note)}</small></td><td>{esc(line.value)}</td>"
            f'<td class="ca-num">×{esc(num(line.factor, 3))}'
            f"{_bar(line.factor / widest, 'ca-bar-' + direction)}</td></tr>"
        )
    combined = ui_text(lang, "premium.combined", factor=num(est.combined_factor, 4))
    minimum = (
        f'<p class="ca-warn">{esc(ui_text(lang, "premium.minimum", minimum=money(est.minimum_premium, lang, cur)))}</p>'  # noqa: E501
        if est.minimum_applied or est.low_at_minimum
        else ""
    )
    return (
        '<div class="ca-result ca-premium">'
        f'<p class="ca-headline">{esc(headline)}</p>'
        f'<div class="ca-range" role="img" aria-label="{esc(headline)}">{"".join(rows)}</div>'
        f"{minimum}"
        f"<h4>{esc(ui_text(lang, 'premium.breakdown'))}</h4>"
        '<table class="ca-table ca-factors"><thead><tr>'
        f"<th>{esc(ui_text(lang, 'premium.col_factor'))}</th>"
        f"<th>{esc(ui_text(lang, 'premium.col_value'))}</th>"
        f"<th>{esc(ui_text(lang, 'premium.col_multiplier'))}</th>"
        f"</tr></thead><tbody>{''.join(factor_rows)}</tbody></table>"
        f'<p class="ca-note">{esc(combined)}</p>'
        + _list(ui_text(lang, "premium.warnings"), est.warnings, "ca-warnings")
        + _list(ui_text(lang, "premium.assumptions"), est.assumptions, "ca-assumptions")
        + f'<p class="ca-fineprint">{esc(est.disclaimer)}</p></div>'
    )


# --- claims -----------------------------------------------------------------------------


def claim_html(cl: ClaimChecklist, lang: str) -> str:
    """Held and missing documents side by side, then the deadlines as a timeline with the
    days left, then what to do next."""
    lang = _lang(lang)
    held = [d for d in cl.documents if d.held]
    missing = [d for d in cl.documents if not d.held]
    summary = ui_text(lang, "claim.summary", cause=cl.cause_label, held=len(held), n=len(missing))

    def docs(title: str, group: list, cls: str, mark: str) -> str:
        rows = "".join(
            f'<li><span aria-hidden="true">{mark}</span> {esc(d.name)}</li>' for d in group
        )
        empty = f'<li class="ca-none">{esc(ui_text(lang, "claim.none"))}</li>'
        return (
            f'<section class="ca-docs {cls}"><h4>{esc(title)} ({len(group)})</h4>'
            f"<ul>{rows or empty}</ul></section>"
        )

    timeline = []
    for d in sorted(cl.key_dates, key=lambda d: d.date):
        state = "passed" if d.passed else "soon" if d.days_left <= 14 else "later"
        timeline.append(
            f'<li class="ca-when ca-{state}"><time datetime="{d.date.isoformat()}">'
            f"{esc(fmt_date(d.date, lang))}</time> <b>{esc(d.label)}</b>"
            f' <span class="ca-left">{esc(_days(d.days_left, lang))}</span></li>'
        )
    dates = (
        f'<h4>{esc(ui_text(lang, "claim.timeline"))}</h4><ol class="ca-timeline">'
        f"{''.join(timeline)}</ol>"
        if timeline
        else ""
    )
    indemnity = (
        f'<p class="ca-note">{esc(ui_text(lang, "claim.indemnity", paid=money(cl.estimated_indemnity, lang), pct=num(cl.indemnity_pct)))}</p>'  # noqa: E501
        if cl.estimated_indemnity is not None
        else ""
    )
    return (
        '<div class="ca-result ca-claim">'
        f'<p class="ca-headline">{esc(summary)}</p>'
        + _list(ui_text(lang, "claim.warnings"), cl.warnings, "ca-warnings")
        + dates
        + '<div class="ca-docs-grid">'
        + docs(ui_text(lang, "claim.missing"), missing, "ca-missing", "✗")
        + docs(ui_text(lang, "claim.held"), held, "ca-held", "✓")
        + "</div>"
        + indemnity
        + _list(ui_text(lang, "claim.next_steps"), cl.next_steps, "ca-steps")
        + _list(ui_text(lang, "claim.notes"), cl.notes, "ca-notes")
        + "</div>"
    )


# --- calculators ------------------------------------------------------------------------


def dso_html(r: DsoResult, lang: str) -> str:
    lang = _lang(lang)
    scale = max(r.dso_days, float(r.credit_terms_days or 0), 1.0)
    bars = (
        f'<div class="ca-range-row"><span class="ca-range-label">'
        f"{esc(ui_text(lang, 'calc.dso_tab'))}</span>"
        f"{_bar(r.dso_days / scale, 'ca-bar-base')}"
        f'<span class="ca-range-value">{esc(ui_text(lang, "calc.days", n=num(r.dso_days, 1)))}'
        "</span></div>"
    )
    if r.credit_terms_days is not None:
        bars += (
            f'<div class="ca-range-row"><span class="ca-range-label">'
            f"{esc(ui_text(lang, 'calc.terms'))}</span>"
            f"{_bar(r.credit_terms_days / scale, 'ca-bar-low')}"
            f'<span class="ca-range-value">'
            f"{esc(ui_text(lang, 'calc.days', n=r.credit_terms_days))}</span></div>"
        )
    return (
        '<div class="ca-result ca-dso">'
        f'<p class="ca-headline">{esc(ui_text(lang, "calc.dso_headline", n=num(r.dso_days, 1)))}</p>'  # noqa: E501
        f'<div class="ca-range">{bars}</div>'
        f"<p>{esc(r.interpretation)}</p></div>"
    )


def liquidity_html(r: LiquidityResult, lang: str) -> str:
    lang = _lang(lang)
    head = ui_text(lang, "calc.cash_headline", ratio=f"{r.cash_ratio:.2f}")
    if r.current_ratio is not None:
        head += " " + ui_text(lang, "calc.current_headline", ratio=f"{r.current_ratio:.2f}")
    # The guide's reading: below 0.5 weak, 0.5-1.0 adequate, 1.0 and above strong.
    band = "good" if r.cash_ratio >= 1 else "flat" if r.cash_ratio >= 0.5 else "bad"
    return (
        '<div class="ca-result ca-liquidity">'
        f'<p class="ca-headline">{esc(head)}</p>'
        f'<div class="ca-range"><div class="ca-range-row"><span class="ca-range-label">'
        f"{esc(ui_text(lang, 'calc.cash_ratio'))}</span>"
        f"{_bar(r.cash_ratio / 2.0, 'ca-bar-' + band)}"
        f'<span class="ca-range-value">{r.cash_ratio:.2f}</span></div></div>'
        f"<p>{esc(r.interpretation)}</p></div>"
    )


def plan_html(r: PaymentPlanResult, lang: str) -> str:
    lang = _lang(lang)
    rows = []
    for item in r.schedule:
        if item.needs_consent is None:  # no original due date: not checked yet
            flag = ""
        elif item.needs_consent:
            flag = (
                f'<span class="ca-tag ca-tag-warn">{esc(ui_text(lang, "calc.needs_consent"))}'
                "</span>"
            )
        else:
            flag = f'<span class="ca-tag">{esc(ui_text(lang, "calc.within_mep"))}</span>'

        rows.append(
            f'<tr class="{"ca-bad" if item.needs_consent else ""}"><td>{item.n}</td>'
            f"<td>{esc(fmt_date(item.date, lang))}</td>"
            f'<td class="ca-num">{esc(money(item.amount, lang))}</td><td>{flag}</td></tr>'
        )
    dates = (
        ui_text(
            lang,
            "calc.plan_dates",
            mep=fmt_date(r.mep_end, lang),
            notice=fmt_date(r.notification_deadline, lang),
        )
        if r.mep_end is not None and r.notification_deadline is not None
        else ""  # not checked yet: the warning says so
    )
    return (
        '<div class="ca-result ca-plan">'
        f'<p class="ca-headline">{esc(ui_text(lang, "calc.plan_headline", n=len(r.schedule), total=money(r.total, lang)))}</p>'  # noqa: E501
        + (f'<p class="ca-note">{esc(dates)}</p>' if dates else "")
        + '<table class="ca-table"><thead><tr>'
        f"<th>{esc(ui_text(lang, 'calc.col_n'))}</th>"
        f"<th>{esc(ui_text(lang, 'calc.col_date'))}</th>"
        f"<th>{esc(ui_text(lang, 'calc.col_amount'))}</th>"
        f"<th>{esc(ui_text(lang, 'calc.col_status'))}</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + _list(ui_text(lang, "claim.warnings"), r.warnings, "ca-warnings")
        + _list(ui_text(lang, "claim.notes"), r.notes, "ca-notes")
        + "</div>"
    )
