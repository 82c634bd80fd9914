"""The one scoping mechanism: criteria on every ORM select, update and delete."""

import uuid

from sqlalchemy import func, select, update

from chom.extensions import db
from chom.models import Organization, Site, Tenant
from chom.models.scoping import DENY_ALL, Scope, scoped


def _two_tenants(app):
    with app.app_context():
        org_a, org_b = Organization(name="A"), Organization(name="B")
        tenant_a = Tenant(organization=org_a, name="A")
        tenant_b = Tenant(organization=org_b, name="B")
        db.session.add_all([org_a, org_b, tenant_a, tenant_b])
        db.session.flush()
        for tenant, domain in ((tenant_a, "a.example.com"), (tenant_b, "b.example.com")):
            db.session.add(Site(tenant_id=tenant.id, domain=domain, type="html"))
        db.session.commit()
        return (org_a.id, tenant_a.id), (org_b.id, tenant_b.id)


def _scope(org_id, tenant_id):
    return Scope(organization_id=org_id, tenant_id=tenant_id,
                 reachable_tenant_ids=frozenset({tenant_id}), user_id=uuid.uuid4())


def test_selects_counts_and_updates_see_only_the_scope(clean_app):
    (org_a, tenant_a), (org_b, tenant_b) = _two_tenants(clean_app)
    with clean_app.app_context(), scoped(_scope(org_a, tenant_a)):
        assert db.session.scalars(select(Site.domain)).all() == ["a.example.com"]
        assert db.session.scalar(select(func.count(Site.id))) == 1
        assert [t.name for t in db.session.scalars(select(Tenant))] == ["A"]
        assert [o.name for o in db.session.scalars(select(Organization))] == ["A"]
        result = db.session.execute(update(Site).values(status="suspended"))
        db.session.commit()
        assert result.rowcount == 1
    with clean_app.app_context():
        statuses = dict(db.session.execute(select(Site.domain, Site.status)).all())
        assert statuses == {"a.example.com": "suspended", "b.example.com": "pending"}


def test_deny_all_sees_nothing_and_system_scope_sees_all(clean_app):
    _two_tenants(clean_app)
    with clean_app.app_context():
        with scoped(DENY_ALL):
            assert db.session.scalars(select(Site)).all() == []
            assert db.session.scalars(select(Tenant)).all() == []
        assert len(db.session.scalars(select(Site)).all()) == 2


def test_core_statements_on_scoped_tables_are_refused_inside_a_scope(clean_app):
    import pytest
    from sqlalchemy import text

    from chom.models.scoping import ScopeViolation, unscoped

    (org_a, tenant_a), _ = _two_tenants(clean_app)
    sites = Site.__table__
    with clean_app.app_context(), scoped(_scope(org_a, tenant_a)):
        with pytest.raises(ScopeViolation):
            db.session.execute(select(sites.c.domain))
        with pytest.raises(ScopeViolation):
            db.session.execute(update(sites).values(status="x"))
        db.session.rollback()
        # Statements on no scoped table, and ORM statements, run as before.
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        assert db.session.scalars(select(Site.domain)).all() == ["a.example.com"]
        with unscoped():
            assert len(db.session.execute(select(sites.c.domain)).all()) == 2


def test_a_statement_reused_across_scopes_gets_each_scopes_criteria(clean_app, monkeypatch):
    from chom.models import scoping

    (org_a, tenant_a), (org_b, tenant_b) = _two_tenants(clean_app)
    scope_a, scope_b = _scope(org_a, tenant_a), _scope(org_b, tenant_b)
    reused = select(Site.domain)  # built once, as a hot statement is
    with clean_app.app_context():
        for scope, domain in ((scope_a, "a.example.com"), (scope_b, "b.example.com"),
                              (scope_a, "a.example.com"), (DENY_ALL, None),
                              (scope_b, "b.example.com")):
            with scoped(scope):
                assert db.session.scalars(reused).all() == ([domain] if domain else [])
        assert len(db.session.scalars(reused).all()) == 2  # the system scope: no criteria
        # Past the bound on scopes kept per statement, criteria are made afresh, still right.
        monkeypatch.setattr(scoping, "_SCOPES_PER_STATEMENT", 1)
        for org, tenant, domain in ((org_a, tenant_a, "a.example.com"),
                                    (org_b, tenant_b, "b.example.com")):
            with scoped(_scope(org, tenant)):  # a new scope each time (another user)
                assert db.session.scalars(reused).all() == [domain]
        assert len(scoping._scoped_statements[reused]) == 1
