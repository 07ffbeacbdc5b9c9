"""Alembic environment: the schema is ``assistant.storage.Base.metadata``.

``Store`` runs ``upgrade head`` itself on start (passing its own connection in
``config.attributes["connection"]``). From the command line, ``alembic upgrade head`` or
``alembic revision --autogenerate -m "..."`` use the database from the settings
(``DATABASE_URL``, else SQLite under ``data/``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from assistant.storage import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    from assistant.config import get_settings

    context.configure(
        url=get_settings().sqlalchemy_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from assistant.config import get_settings

    engine = create_engine(get_settings().sqlalchemy_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
