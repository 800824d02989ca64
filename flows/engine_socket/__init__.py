"""The engine's local socket: a `rehab` command the running engine can do for its operator is
sent to it over a Unix socket in REHAB_HOME, so the command's process starts in milliseconds
instead of importing Prefect, SQLAlchemy and apprise for each plan (docs/architecture.md).

- `client`: the `rehab` entry point; the standard library only. It sends `plan launch` to the
  engine's socket when one answers, and otherwise (or when the engine declines) runs the
  command itself, as it always has.
- `server`: in the runner (`rehab up`), a thread that answers the socket: only the home's
  owner, only the commands it may serve, only when the caller's settings are the engine's.
- `capture`: each served command's output, kept apart from the other threads' output.
"""
