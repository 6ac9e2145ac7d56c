"""Run the command line as `python -m printernizer_usage_server`."""

from __future__ import annotations

from printernizer_usage_server.cli import main

raise SystemExit(main())
