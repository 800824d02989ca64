"""`python -m flows` is the `rehab` command."""

from flows.cli import main

main()
