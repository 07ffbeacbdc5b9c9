"""``python -m assistant.knowledge [QUERY]``: search the index from the terminal."""

import sys

from assistant.knowledge.cli import search_main

sys.exit(search_main())
