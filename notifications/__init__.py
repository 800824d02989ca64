"""How messages leave the system: apprise channels, message templates, the outbox sender."""
