"""Fit the retrieval confidence (a logistic over five features) on labelled questions.

The cases are the retrieval golden set plus the *dev* split of the real-phrasing set
(``golden/real-questions.yaml``: in-scope questions vs near-miss off-topic ones, modelled
on public questions); the test split is never read here.

``python -m evals calibrate`` prints cross-validated figures first (5 folds, stratified:
each case is scored by a model that never saw it), then the weights fitted on all cases,
ready to paste into ``assistant.retrieval.CALIBRATION`` for the configured embedder.
The cross-validated figures are the honest estimate of how the gate does on new questions.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from assistant.config import Settings
from assistant.knowledge.index import KnowledgeIndex
from assistant.retrieval import CONFIDENCE_FEATURES, RetrievalEngine
from evals.retrieval import load_cases


def features_and_labels(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    index = KnowledgeIndex(settings)
    if not index.sync().ok:
        raise SystemExit("ingest failed")
    engine = RetrievalEngine(index, settings)
    from evals.answers import OFF_TOPIC
    from evals.answers import load_cases as real_cases

    questions = [(c.question, c.in_scope) for c in load_cases()]
    questions += [(c["question"], c["category"] != OFF_TOPIC) for c in real_cases(split="dev")]
    rows, labels = [], []
    for question, in_scope in questions:
        res = engine.search(question)
        rows.append([res.features[f] for f in CONFIDENCE_FEATURES])
        labels.append(1 if in_scope else 0)
    return np.asarray(rows), np.asarray(labels)


def run_cli(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    settings = Settings()
    x, y = features_and_labels(settings)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=args.c, class_weight="balanced", max_iter=5000)
    )
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    proba = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    report: dict[str, object] = {"backend": settings.embedding_backend, "cases": len(y)}
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        refused = proba < threshold
        report[f"cv@{threshold}"] = {
            "oos_refused": round(float(refused[y == 0].mean()), 3),
            "in_scope_refused": round(float(refused[y == 1].mean()), 3),
        }
    model.fit(x, y)
    scaler, logit = model[0], model[1]
    # Back to raw feature scale, so the engine needs no scaler: w / sd, b - sum(w * mean / sd).
    raw_w = logit.coef_[0] / scaler.scale_
    bias = float(logit.intercept_[0] - np.sum(logit.coef_[0] * scaler.mean_ / scaler.scale_))
    weights = {"bias": round(bias, 3)}
    weights.update({f: round(float(w), 3) for f, w in zip(CONFIDENCE_FEATURES, raw_w, strict=True)})
    report["weights"] = weights
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0
