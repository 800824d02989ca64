"""The case store: SQLAlchemy tables, migrations, encryption at rest, and the repository."""
