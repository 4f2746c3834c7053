"""The store: SQLAlchemy tables, the append-only audit log, principals and notifications."""
