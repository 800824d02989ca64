"""Pure presenters: what a run shows (tags, timeline, events) and what the CLI prints."""
