"""Pure: a case, how time and people move it, its events and notices; no database, no Prefect."""
