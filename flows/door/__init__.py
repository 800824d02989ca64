"""The door: the one web address for people (sign-in, sessions, Prefect behind it)."""
