"""Off-topic themes the bank has never seen: ``python -m evals offtopic-themes``.

Real off-topic questions often belong to a theme with no exemplar in the bank. This holds
out one off-topic theme (entry) at a time: its phrasings become questions, and the theme
is removed both from the exemplars that matching can find and from the classifier's
training data. It reports how many of them each mechanism would decline:

- **matching**: an off-topic exemplar (of another theme) is the best entry at the
  "did you mean" threshold, or nothing in scope reaches it;
- **classifier**: its probability reaches ``offtopic_p`` while no in-scope entry reaches
  ``offtopic_keep`` (see ``EntryMatcher._classified``);

and, by five-fold cross-validation, how many in-scope phrasings the classifier would flag.
It uses the bank alone, so no eval split is touched.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

import numpy as np

from assistant.config import get_settings
from assistant.matching import entry_agreement


def run(per_theme: int = 6, seed: int = 1) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from evals.answers import _assistant

    with tempfile.TemporaryDirectory() as tmp:
        assistant = _assistant(get_settings(), tmp)
        m = assistant.engine.matcher
        assistant.store.close()
    cal = m.cal
    x = m._features(m.char_matrix, m.word_matrix, m.vectors)
    y = m.offtopic.astype(int)
    ids = np.asarray([m.entries[r]["entry_id"] for r in m.rows])
    rng = np.random.default_rng(seed)

    def model() -> Any:
        return LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)

    n = by_match = by_clf = by_either = 0
    for theme in sorted(set(ids[m.offtopic])):
        hold = ids == theme
        clf = model().fit(x[~hold], y[~hold])
        rows = rng.choice(np.where(hold)[0], min(per_theme, int(hold.sum())), replace=False)
        for j, p in zip(rows, clf.predict_proba(x[rows])[:, 1], strict=True):
            chars = (m.char_matrix @ m.char_matrix[j].T).toarray().ravel()
            words = (m.word_matrix @ m.word_matrix[j].T).toarray().ravel()
            dense = np.clip((m.vectors @ m.vectors[j] - cal["lo"]) / (cal["hi"] - cal["lo"]), 0, 1)
            blend = cal["dense"] * dense + cal["chars"] * chars + cal["words"] * words
            blend = np.where((m.langs == m.langs[j]) & ~hold, blend, -1.0)
            blend = entry_agreement(blend, m._entry_of, m._n_entries, cal["pair"])
            top = int(np.argmax(blend))
            matched = bool(m.offtopic[top]) or blend[top] < cal["suggest"]
            classified = p >= cal["offtopic_p"] and blend[~m.offtopic].max() < cal["offtopic_keep"]
            n += 1
            by_match += matched
            by_clf += classified
            by_either += matched or classified
    flagged = total = 0
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        inscope = test[y[test] == 0]
        p = model().fit(x[train], y[train]).predict_proba(x[inscope])[:, 1]
        flagged += int((p >= cal["offtopic_p"]).sum())
        total += len(inscope)
    return {
        "held_out_phrasings": n,
        "declined_by_matching": round(by_match / n, 3),
        "declined_by_classifier": round(by_clf / n, 3),
        "declined_by_either": round(by_either / n, 3),
        "inscope_flagged_cv": round(flagged / total, 4),
        "inscope_phrasings": total,
    }


def run_cli(args: Any) -> int:
    print(json.dumps(run(), indent=2))
    return 0
