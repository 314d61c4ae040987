"""The benchmarks' own PostgreSQL databases, created when missing (imported before Django
is set up, so that the settings find the database)."""

import os
import subprocess


def psql(*args: str) -> str:
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", *args, "postgres"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def ensure_database(url: str | None = None) -> None:
    """The database of ``url`` (default DATABASE_URL), created if missing; nothing to do
    for SQLite."""
    url = url or os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[-1]
    if not psql("-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'").strip():
        psql("-qc", f'CREATE DATABASE "{name}"')
