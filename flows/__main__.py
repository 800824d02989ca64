"""`python -m flows` is the `rehab` command."""

from flows.engine_socket.client import main

main()
