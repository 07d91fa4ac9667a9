"""``python -m mixpeek_tasks_mcp``: same as the ``mixpeek-tasks-mcp`` command."""

import sys

from .cli import main

sys.exit(main())
