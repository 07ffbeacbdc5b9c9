"""Index the knowledge documents.

Usage: python ingest.py [PATHS...] [--rebuild] [--dry-run] [--json] [--strict]
"""

import sys

import assistant  # noqa: F401  (offline environment first)
from assistant.knowledge.cli import ingest_main

if __name__ == "__main__":
    sys.exit(ingest_main())
