"""`python -m kestra_sync` runs the CLI (used by tests so they run the tree under test)."""

from .cli import main

main()
