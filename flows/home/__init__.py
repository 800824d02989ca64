"""What lives under REHAB_HOME besides the case store: the engine's record and the log files."""
