"""The service layer: each use case is one change to one case, in one transaction
(unit_of_work.py). A plan's own changes are in plan_changes.py, what people record in recording.py,
the engine's changes in engine.py; the other modules each hold one concern."""
