"""The project's PostgreSQL backend (``ENGINE = "mesads.core.db"``): see ``base``."""
