"""The ONE tenant-scoping mechanism.

Every ORM read, update and delete issued through a Session gets `with_loader_criteria` for the
scope current in this context: tenant-owned rows to the current tenant, organization-owned rows
to the current organization, tenants to those the caller's membership reaches, user-owned rows
to the current user. Call sites never type these filters themselves.

A scope is installed per request (a deny-all scope first, replaced once the caller is known)
and per job. `None` is the system scope (CLI, jobs, authentication look-ups): nothing is
filtered, and code enters it explicitly with `unscoped()`.
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from chom.models.base import OrganizationOwned, TenantOwned, UserOwned


@dataclass(frozen=True)
class Scope:
    """What the current request or job may see."""

    organization_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    reachable_tenant_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    user_id: uuid.UUID | None = None


DENY_ALL = Scope()

_current: ContextVar[Scope | None] = ContextVar("chom_scope", default=None)


def current_scope() -> Scope | None:
    return _current.get()


def enter_scope(scope: Scope | None) -> Token:
    """Install `scope` for this context; hand the token to `leave_scope` when done."""
    return _current.set(scope)


def leave_scope(token: Token) -> None:
    _current.reset(token)


@contextmanager
def scoped(scope: Scope | None) -> Iterator[None]:
    token = enter_scope(scope)
    try:
        yield
    finally:
        leave_scope(token)


def unscoped():
    """System scope: for authentication look-ups and platform-wide checks (domain taken)."""
    return scoped(None)


@functools.lru_cache(maxsize=4096)
def _scope_criteria(scope: Scope) -> tuple:
    # Imported here: the models import this module's mixins' home, not the other way round.
    from chom.models.organizations import Organization, Tenant

    tenant_id = scope.tenant_id
    organization_id = scope.organization_id
    user_id = scope.user_id
    reachable = tuple(scope.reachable_tenant_ids)
    return (
        with_loader_criteria(
            TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        ),
        with_loader_criteria(
            OrganizationOwned,
            lambda cls: cls.organization_id == organization_id,
            include_aliases=True,
        ),
        with_loader_criteria(UserOwned, lambda cls: cls.user_id == user_id, include_aliases=True),
        with_loader_criteria(Tenant, lambda cls: cls.id.in_(reachable), include_aliases=True),
        with_loader_criteria(
            Organization, lambda cls: cls.id == organization_id, include_aliases=True
        ),
    )


class ScopeViolation(RuntimeError):
    """A Core statement on a scoped table ran inside a scope: criteria cannot apply to it."""


@functools.cache
def _scoped_tables() -> frozenset:
    from chom.models.base import Base
    from chom.models.organizations import Organization, Tenant
    from chom.models.users import membership_tenants

    mixins = (TenantOwned, OrganizationOwned, UserOwned)
    tables = {m.local_table for m in Base.registry.mappers
              if issubclass(m.class_, mixins) or m.class_ in (Tenant, Organization)}
    return frozenset({*tables, membership_tenants})


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    scope = _current.get()
    if scope is None or state.is_column_load:
        # Column loads refresh rows already loaded (and so already authorised).
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not state.is_orm_statement:
        # with_loader_criteria only reaches ORM entities: a Core statement on a scoped table
        # would run unfiltered, so it may only run in the system scope (`unscoped()`).
        touched = set(find_tables(state.statement, include_joins=True, include_aliases=True))
        if touched & _scoped_tables():
            raise ScopeViolation(
                "a Core statement on a tenant-scoped table ran inside a scope; "
                "select through the mapped classes, or run it under unscoped()"
            )
        return
    state.statement = _scoped_statement(state.statement, scope)


# A statement with its criteria for each scope it ran in, kept as long as the statement lives.
# A statement built once and run on every request (the site list's page) then stays the same
# object per scope, and SQLAlchemy keeps its cache key instead of computing it on every run.
# Statements built for one run are dropped with them.
_SCOPES_PER_STATEMENT = 128  # some 10 kB each
_scoped_statements: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scoped_statement(statement, scope: Scope):
    by_scope = _scoped_statements.get(statement)
    if by_scope is None:
        by_scope = _scoped_statements[statement] = {}
    scoped_statement = by_scope.get(scope)
    if scoped_statement is None:
        if len(by_scope) >= _SCOPES_PER_STATEMENT:
            by_scope.clear()
        scoped_statement = by_scope[scope] = statement.options(*_scope_criteria(scope))
    return scoped_statement
