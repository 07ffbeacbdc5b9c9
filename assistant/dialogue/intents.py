"""Intent routing for grounded mode: cue patterns first, example embeddings second.

Cue patterns (``knowledge/intents.yaml``) are precise and cheap, so they decide most turns.
Wording they miss falls to a nearest-example vote over embedded example utterances, but
only above a similarity bar calibrated per embedder. Anything that is neither an action
(quote, claim, calculator, lead) nor small talk is a knowledge question: the retriever and
its no-answer gate decide whether the knowledge base can answer it. Erring towards
"knowledge" is deliberate: a wrong knowledge answer still cites real text, while a wrong
form traps the user in questions they did not ask for.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from assistant.dialogue import vocabulary
from assistant.dialogue.routing_model import CALCULATOR_LABELS

if TYPE_CHECKING:
    from assistant.dialogue.routing_model import RoutingModel

ACTIONS = ("quote", "claim", "calculator", "lead")
SMALL_TALK = ("greeting", "thanks", "help", "chitchat")
INTENTS = (*ACTIONS, *SMALL_TALK, "oos", "injection", "knowledge")

# Cosine similarity an example must reach to route by embedding alone, per embedder
# family. e5 similarities sit in a compressed band (unrelated pairs ~0.75), USE and
# MiniLM spread wider. Measured with `python -m evals dialogue`.
EXAMPLE_THRESHOLD = {"e5": 0.93, "use": 0.75, "st": 0.75}

COMPUTE = vocabulary.pattern("compute")
_CREDIT_WORDS = vocabulary.pattern("credit_words")


# The probability a model label needs to route there; below it a turn is a knowledge
# question (the bank's own gate then answers, offers "did you mean" or declines).
# Calibrated on the dev split of evals/golden/routing (python -m evals routing).
# Small talk routes at a lower bar than a form: a wrong help message costs the user
# nothing, a wrong form traps them in questions they did not ask.
MODEL_THRESHOLD: dict[str, float] = {
    "knowledge": 0.0,
    "greeting": 0.4,
    "thanks": 0.4,
    "help": 0.4,
    "chitchat": 0.4,
    "other": 0.5,
}
_LABEL_INTENT = {"offtopic": "oos"}

# The cue-rule groups in front of the trained model, in the order classify reads them.
RULE_GROUPS = (
    "model",  # not a cue rule: switched off, the router is the cue rules alone
    "injection",
    "small_talk",
    "lead",
    "other_insurance",
    "form_cues",
    "knowledge_cues",
    "form_figures",
    "off_topic_cues",
    "chitchat",
)


@dataclass
class IntentSpec:
    name: str
    cues: list[re.Pattern[str]]
    knowledge_cues: list[re.Pattern[str]] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    early_cues: list[re.Pattern[str]] = field(default_factory=list)


@dataclass
class Route:
    intent: str
    via: str  # "rule" | "slots" | "example" | "default"
    score: float = 1.0
    cues: list[str] = field(default_factory=list)
    kind: str | None = None  # the calculator a model route names


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def load_intents(path: Path) -> dict[str, IntentSpec]:
    """Read the cue file; a bad regular expression names the intent and the pattern."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs: dict[str, IntentSpec] = {}
    for name, body in raw.items():
        if name not in INTENTS:
            raise ValueError(f"{path.name}: unknown intent {name!r}")
        try:
            specs[name] = IntentSpec(
                name=name,
                cues=_compile(body.get("cues") or []),
                knowledge_cues=_compile(body.get("knowledge_cues") or []),
                early_cues=_compile(body.get("early_cues") or []),
                examples=[str(x) for x in body.get("examples") or []],
            )
        except re.error as err:
            raise ValueError(f"{path.name}: {name}: bad pattern: {err}") from None
    return specs


class IntentRouter:
    """Decides what a user turn is; see the module docstring for the order of evidence."""

    def __init__(
        self,
        specs: dict[str, IntentSpec],
        embed: Callable[[list[str]], np.ndarray] | None = None,
        threshold: float = 0.9,
        model: Callable[[], RoutingModel | None] | None = None,
        vector: Callable[[str], list[float]] | None = None,
    ) -> None:
        self.specs = specs
        self._embed = embed
        self.threshold = threshold
        self._example_labels: list[str] = []
        self._example_vectors: np.ndarray | None = None
        self._model = model
        self._vector = vector
        # Cue-rule groups switched off (the routing eval's ablation; empty in service).
        self.disabled: set[str] = set()
        self._recent: dict[tuple[int, str], dict[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def model(self) -> RoutingModel | None:
        """The trained routing model of the live index generation, if it has one."""
        return self._model() if self._model is not None else None

    def probabilities(self, text: str) -> dict[str, float]:
        """Each label's probability by the trained model ({} without a model). A turn asks
        several times (route, form or question, tie-break), so the last few are kept."""
        model = self.model
        if model is None:
            return {}
        key = (id(model), text)
        with self._lock:
            hit = self._recent.get(key)
        if hit is not None:
            return hit
        vec = self._vector(text) if self._vector is not None and model.use_vectors else None
        probs = model.probabilities(text, vec)
        with self._lock:
            self._recent[key] = probs
            while len(self._recent) > 16:
                self._recent.pop(next(iter(self._recent)))
        return probs

    def predict(self, text: str) -> tuple[str, float]:
        """The trained model's label for a turn and its probability (knowledge, 0 without
        a model)."""
        probs = self.probabilities(text)
        if not probs:
            return "knowledge", 0.0
        label = max(probs, key=lambda k: probs[k])
        return label, probs[label]

    def model_form(self, text: str) -> tuple[str, str | None, float]:
        """The model's label read as a route: (intent, calculator kind, probability); the
        four calculator labels are the "calculator" intent with their kind."""
        label, p = self.predict(text)
        if label in CALCULATOR_LABELS:
            return "calculator", CALCULATOR_LABELS[label], p
        return label, None, p

    def model_calculator(self, text: str) -> str | None:
        """The calculator the model reads in a turn, if it is sure of one."""
        if not self._on("model"):
            return None
        _, kind, p = self.model_form(text)
        return kind if p >= MODEL_THRESHOLD["other"] else None

    @staticmethod
    def rule_groups() -> tuple[str, ...]:
        return RULE_GROUPS

    def _on(self, group: str) -> bool:
        return group not in self.disabled

    def _ensure_examples(self) -> None:
        if self._embed is None or self._example_vectors is not None:
            return
        labels, texts = [], []
        for spec in self.specs.values():
            for ex in spec.examples:
                labels.append(spec.name)
                texts.append(ex)
        if texts:
            self._example_labels = labels
            self._example_vectors = self._embed(texts)

    def other_line(self, text: str) -> list[str]:
        """Another line of insurance named with no trade-credit word beside it ("车险理赔
        怎么走", "中信保诚的理赔多久到账": the insurer's name is not our "信保")."""
        spec = self.specs.get("oos")
        found = [m for p in (spec.early_cues if spec else []) if (m := p.search(text))]
        if not found:
            return []
        rest = text
        for m in found:
            rest = rest.replace(m.group(0), " ")
        return [] if _CREDIT_WORDS.search(rest) else [m.group(0) for m in found]

    def hits(self, name: str, text: str) -> list[str]:
        spec = self.specs.get(name)
        if spec is None:
            return []
        return [m.group(0) for p in spec.cues if (m := p.search(text))]

    def knowledge_like(self, name: str, text: str) -> bool:
        spec = self.specs.get(name)
        return bool(spec and any(p.search(text) for p in spec.knowledge_cues))

    def nearest_example(self, text: str) -> tuple[str, float] | None:
        self._ensure_examples()
        if self._embed is None or self._example_vectors is None:
            return None
        q = self._embed([text])[0]
        sims = self._example_vectors @ q
        best = int(np.argmax(sims))
        return self._example_labels[best], float(sims[best])

    def classify(
        self, text: str, *, has_phone: bool = False, evidence: dict[str, int] | None = None
    ) -> Route:
        """Route one message (already normalised).

        High-precision cue rules first (each a group the routing eval can switch off), then
        the trained model (:mod:`assistant.dialogue.routing_model`) for everything they
        leave open. ``evidence`` counts the form fields each action could fill from this
        message ("年赊销1.5亿，做钢材，账期90天" fills three quote fields). Two or more make
        the action likely even without a cue word, and outweigh wording that otherwise
        reads as a how-does-it-work question.
        """
        evidence = evidence or {}
        if self._on("injection") and self.hits("injection", text):
            return Route("injection", "rule", cues=self.hits("injection", text))
        if self._on("small_talk"):
            for name in ("greeting", "thanks", "help"):
                cues = self.hits(name, text)
                if cues:
                    return Route(name, "rule", cues=cues)

        lead = self.hits("lead", text) if self._on("lead") else []
        if lead or has_phone:
            return Route("lead", "rule", cues=lead or ["phone"])

        early = self.other_line(text) if self._on("other_insurance") else []
        if early:
            # "车险理赔怎么走" names another line of business: not ours, whatever verbs follow.
            return Route("oos", "rule", cues=early)

        any_cues: list[str] = []
        ranked = sorted(("quote", "calculator", "claim"), key=lambda n: -evidence.get(n, 0))
        knowledge_like = self._on("knowledge_cues")
        if self._on("form_cues"):
            for name in ranked:
                cues = self.hits(name, text)
                if (
                    name == "calculator"
                    and cues
                    and not evidence.get(name)
                    and not COMPUTE.search(text)
                ):
                    # "签了分期以后还要报吗" names a calculator topic but asks nothing to compute.
                    any_cues += cues
                    continue
                if cues and (
                    not (knowledge_like and self.knowledge_like(name, text))
                    or evidence.get(name, 0) >= 2
                ):
                    return Route(name, "rule", cues=cues)
                any_cues += cues
        if not any_cues and self._on("form_figures"):
            tied = [n for n in ranked if evidence.get(n, 0) == evidence.get(ranked[0], 0)]
            kind = None
            if len(tied) > 1 and self._on("model") and self.model is not None:
                # Figures that fill two forms alike ("net sales 250k, receivables 150k"):
                # the model's reading of the wording breaks the tie.
                form, form_kind, p = self.model_form(text)
                if form in tied and p >= MODEL_THRESHOLD["other"]:
                    ranked = [form, *(n for n in ranked if n != form)]
                    kind = form_kind
            for name in ranked:
                n = evidence.get(name, 0)
                if n >= 3 or (n >= 2 and not (knowledge_like and self.knowledge_like(name, text))):
                    if name == "calculator" and kind is None:
                        kind = self.model_calculator(text)
                    return Route(
                        name,
                        "slots",
                        score=float(evidence[name]),
                        kind=kind if name == "calculator" else None,
                    )
        oos = self.hits("oos", text) if self._on("off_topic_cues") else []
        if oos and not any_cues:
            return Route("oos", "rule", cues=oos)
        if any_cues:
            # Domain wording that asks how something works: a knowledge question.
            return Route("knowledge", "rule", cues=any_cues)

        chit = self.hits("chitchat", text) if self._on("chitchat") else []
        if chit:
            return Route("chitchat", "rule", cues=chit)

        if self._on("model") and self.model is not None:
            return self._by_model(text)
        near = self.nearest_example(text)
        if (
            near
            and near[1] >= self.threshold
            and near[0] != "oos"
            and not self.knowledge_like(near[0], text)
        ):
            return Route(near[0], "example", score=near[1])
        return Route("knowledge", "default", score=near[1] if near else 0.0)

    def _by_model(self, text: str) -> Route:
        """The trained model's route for a turn no cue rule decided."""
        probs = self.probabilities(text)
        if not probs:
            return Route("knowledge", "model", score=0.0)
        label = max(probs, key=lambda k: probs[k])
        p = probs[label]
        if label in SMALL_TALK:
            # Small talk is one family: "so what are you actually for?" splits its weight
            # between help and chit-chat, and the family as a whole decides.
            p = sum(probs.get(k, 0.0) for k in SMALL_TALK)
        if p < MODEL_THRESHOLD.get(label, MODEL_THRESHOLD["other"]):
            return Route("knowledge", "model", score=p)
        if label in CALCULATOR_LABELS:
            return Route("calculator", "model", score=p, kind=CALCULATOR_LABELS[label])
        return Route(_LABEL_INTENT.get(label, label), "model", score=p)
