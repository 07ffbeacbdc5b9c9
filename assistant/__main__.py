"""``python -m assistant chat`` and ``python -m assistant ask "..." --json``."""

from assistant.cli import main

raise SystemExit(main())
