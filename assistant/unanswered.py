"""The support team's loop: questions the assistant did not answer outright, grouped.

Declined questions, "did you mean" replies and 👎 ratings are logged with their scores
(see ``Store.log_unanswered``). Grouped by the nearest answer-bank entry, they show which
entry is missing a phrasing (add it to ``similar`` and re-ingest) and which questions
need a new entry (no entry near them).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def group_by_entry(rows: list[dict[str, Any]], examples: int = 5) -> list[dict[str, Any]]:
    """One group per nearest entry ("" = nothing near), biggest first."""
    groups: dict[str, dict[str, Any]] = {}
    kinds: dict[str, defaultdict[str, int]] = {}
    for row in rows:
        key = row.get("nearest_entry") or ""
        group = groups.get(key)
        if group is None:
            top = (row.get("top") or [{}])[0]
            group = groups[key] = {
                "nearest_entry": key,
                "nearest_question": top.get("question", "") if key else "",
                "count": 0,
                "best_score": 0.0,
                "last_seen": row["created_at"],
                "examples": [],
            }
            kinds[key] = defaultdict(int)
        group["count"] += 1
        kinds[key][row["kind"]] += 1
        group["best_score"] = max(group["best_score"], float(row.get("nearest_score") or 0.0))
        group["last_seen"] = max(group["last_seen"], row["created_at"])
        if len(group["examples"]) < examples:
            group["examples"].append(
                {
                    "text": row["text"],
                    "lang": row["lang"],
                    "kind": row["kind"],
                    "score": row.get("nearest_score", 0.0),
                    "session_id": row["session_id"],
                }
            )
    for key, group in groups.items():
        group["kinds"] = dict(kinds[key])
        group["best_score"] = round(group["best_score"], 4)
    return sorted(groups.values(), key=lambda g: (-g["count"], g["nearest_entry"]))
