"""Answer-quality evaluations: ``python -m evals retrieval [--json] [--compare]``."""
