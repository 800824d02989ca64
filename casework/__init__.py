"""What happened to a case: the domain model, the case store, and the services that decide."""
