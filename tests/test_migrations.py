"""The Alembic migrations (through Flask-Migrate) build, remove and rebuild the whole schema,
on SQLite and on PostgreSQL, and match the models exactly."""

from __future__ import annotations

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from chom import create_app
from chom.extensions import db
from tests.conftest import TEST_DATABASE_URL, base_config, recreate_postgres_database

MODEL_TABLES = {table.name for table in db.metadata.sorted_tables}


def _postgres_url() -> str:
    """A database of its own, named after the session's so checkouts do not collide."""
    parsed = make_url(TEST_DATABASE_URL)
    url = parsed.set(database=f"{parsed.database}_migrations")
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def migration_app(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    else:
        url = _postgres_url()
        recreate_postgres_database(url)
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _tables(app) -> set[str]:
    with app.app_context():
        db.session.remove()
        return set(inspect(db.engine).get_table_names())


def _differences(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        return compare_metadata(context, db.metadata)


def _revision(app) -> str | None:
    with app.app_context(), db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_there_are_models_to_migrate():
    assert {"users", "organizations", "tenants", "sites", "operations", "vps_servers"} \
        <= MODEL_TABLES


def test_upgrade_head_creates_every_model_table(migration_app):
    assert _tables(migration_app) == set()
    with migration_app.app_context():
        flask_migrate.upgrade()
    assert _tables(migration_app) == MODEL_TABLES | {"alembic_version"}
    assert _revision(migration_app) is not None


def test_downgrade_base_leaves_only_the_version_table(migration_app):
    with migration_app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
    assert _tables(migration_app) <= {"alembic_version"}
    assert _revision(migration_app) is None


def test_upgrade_again_after_downgrade(migration_app):
    with migration_app.app_context():
        flask_migrate.upgrade()
        head = _revision(migration_app)
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
    assert _tables(migration_app) == MODEL_TABLES | {"alembic_version"}
    assert _revision(migration_app) == head


def test_models_and_migrated_schema_agree(migration_app):
    with migration_app.app_context():
        flask_migrate.upgrade()
    assert _differences(migration_app) == []


def test_comparison_does_notice_a_difference(migration_app):
    """Guards the check above: an unmigrated database does differ from the models."""
    differences = _differences(migration_app)
    added = {diff[1].name for diff in differences if diff[0] == "add_table"}
    assert added == MODEL_TABLES
