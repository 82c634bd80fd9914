"""Sites: list, create (quota, domain, placement, provisioning), show and delete."""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass

import jsonschema
from flask import current_app
from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from chom.extensions import db
from chom.models import Operation, Site, Tenant, VpsServer
from chom.models.base import utcnow
from chom.models.scoping import unscoped
from chom.plugin_api import Plan
from chom.plugins import current_site_types
from chom.services import audit, billing_plans, fleet
from chom.services.commits import commit_keeping
from chom.services.errors import (
    DomainTaken,
    QuotaExceeded,
    ValidationFailed,
)
from chom.services.lookup import get_or_not_found
from chom.services.provisioning import enqueue_operations
from chom.services.site_operations import new_operation, start_operation
from chom.services.site_profile import site_context
from chom.services.tenancy import Actor
from chom.services.text import UNSTORABLE_MESSAGE, unstorable_fields


@dataclass(frozen=True)
class SitePage:
    items: list  # `Site` objects (`list_sites`) or plain rows (`list_site_rows`)
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class CreatedSite:
    site: Site
    operation: Operation


@dataclass(frozen=True)
class PlanPreview:
    """A dry run: what would be applied, and where, with nothing touched."""

    domain: str
    type: str
    vps_name: str
    plan: Plan


def plan_limits(tenant: Tenant) -> dict:
    return current_app.config["CHOM_PLANS"][tenant.plan]


def _site_list_filter(query, status: str | None, type: str | None, search: str | None = None):
    # Deleted sites show only when asked for by status.
    query = query.where(Site.status == status if status else Site.deleted_at.is_(None))
    if type:
        query = query.where(Site.type == type)
    if search:
        # Domains are stored lowercase; the search text is matched literally, not as a pattern.
        query = query.where(Site.domain.contains(search.strip().lower(), autoescape=True))
    return query


def _page_total(make_query, page: int, per_page: int, found: int) -> int:
    """The number of rows `make_query()` selects, counted only when the page cannot tell."""
    offset = (page - 1) * per_page
    if found and found < per_page:
        return offset + found  # the last page's rows give the total: no count needed
    # Over the ORM session, so the scope's criteria reach the counted subquery too.
    return db.session.scalar(select(func.count()).select_from(make_query().subquery())) or 0


def list_sites(
    actor: Actor, *, page: int, per_page: int, status: str | None = None,
    type: str | None = None, search: str | None = None,
) -> SitePage:
    """The current tenant's sites (deleted ones only when asked by status), newest first;
    `search` keeps those whose domain contains it."""
    actor.require("sites:read")
    query = _site_list_filter(select(Site), status, type, search)
    newest_first = query.order_by(Site.created_at.desc(), Site.id).options(
        # The list shows each site's VPS: load it in the same query, not once per site.
        joinedload(Site.vps).load_only(VpsServer.id, VpsServer.name)
    )
    offset = (page - 1) * per_page
    items = db.session.scalars(newest_first.limit(per_page).offset(offset)).all()
    total = _page_total(lambda: query, page, per_page, len(items))
    return SitePage(list(items), total, page, per_page)


# The columns the API's site list shows (`chom.api.schemas.site_row_out`), as plain rows.
_SITE_ROW = select(
    Site.id, Site.domain, Site.type, Site.status, Site.php_version,
    Site.ssl_enabled, Site.ssl_expires_at, Site.created_at, Site.updated_at,
    VpsServer.id.label("vps_id"), VpsServer.name.label("vps_name"),
).outerjoin(Site.vps)


@functools.cache
def _site_rows_statement(by_status: bool, by_type: bool):
    """The page statement for one combination of filters, built once: values are bound at
    execution (`status`, `type`, `limit`, `offset`), so building it costs nothing per request.
    It is an ORM select, so the session's scoping hook adds the tenant criteria as usual."""
    query = _SITE_ROW.where(
        Site.status == bindparam("status") if by_status else Site.deleted_at.is_(None)
    )
    if by_type:
        query = query.where(Site.type == bindparam("type"))
    return query.order_by(Site.created_at.desc(), Site.id).limit(
        bindparam("limit", type_=Integer)
    ).offset(bindparam("offset", type_=Integer))


def list_site_rows(
    actor: Actor, *, page: int, per_page: int, status: str | None = None, type: str | None = None
) -> SitePage:
    """As `list_sites`, with plain rows of the listed columns instead of ORM objects (the API's
    list: no object construction, no identity map). The statement is an ORM select run through
    the session, so the tenant scope's criteria apply to it exactly as to `list_sites`."""
    actor.require("sites:read")
    offset = (page - 1) * per_page
    rows = db.session.execute(
        _site_rows_statement(bool(status), bool(type)),
        {"status": status, "type": type, "limit": per_page, "offset": offset},
    ).all()
    total = _page_total(lambda: _site_list_filter(select(Site.id), status, type), page,
                        per_page, len(rows))
    return SitePage(rows, total, page, per_page)


def site_type_choices() -> list[tuple[str, str, bool]]:
    """(name, label, uses PHP) of every registered site type, for forms."""
    return sorted((t.name, t.label, t.uses_php) for t in current_site_types().values())


@dataclass(frozen=True)
class SiteTypeForm:
    """What a creation form needs of a site type: its name, label, PHP use and options schema."""

    name: str
    label: str
    uses_php: bool
    options_schema: dict


def site_type_forms() -> list[SiteTypeForm]:
    """Every registered site type with its JSON options schema, by name."""
    return sorted((SiteTypeForm(t.name, t.label, t.uses_php, dict(t.options_schema))
                   for t in current_site_types().values()), key=lambda form: form.name)


def get_site(actor: Actor, site_id) -> Site:
    actor.require("sites:read")
    return get_or_not_found(Site, site_id, "Site")


def _validate_type_and_options(
    site_type_name: str, php_version: str | None, options: dict
) -> tuple[object, str | None]:
    site_types = current_site_types()
    site_type = site_types.get(site_type_name)
    if site_type is None:
        raise ValidationFailed(
            {"type": [f"Unknown site type; one of: {', '.join(sorted(site_types))}."]}
        )
    supported = current_app.config["CHOM_PHP_VERSIONS"]
    if not site_type.uses_php:
        if php_version:
            raise ValidationFailed({"php_version": [f"{site_type.label} sites do not run PHP."]})
    else:
        php_version = php_version or current_app.config["CHOM_DEFAULT_PHP_VERSION"]
        if php_version not in supported:
            raise ValidationFailed({"php_version": [f"One of: {', '.join(supported)}."]})
    validator = jsonschema.Draft202012Validator(site_type.options_schema)
    problems = sorted(validator.iter_errors(options), key=lambda e: list(e.path))
    errors: dict[str, list[str]] = {}
    for problem in problems:
        field = ".".join(["options", *map(str, problem.path)])
        errors.setdefault(field, []).append(problem.message)
    for field in unstorable_fields(options, "options"):
        # Options end up in files and command lines on the VPS: the rule holds for every
        # caller (a backup restored into a new site, too), not only requests past the edge.
        errors.setdefault(field, []).append(UNSTORABLE_MESSAGE)
    if errors:
        raise ValidationFailed(errors)
    return site_type, php_version


def _domains_taken(domains: list[str]) -> list[str]:
    """Those of `domains` a live site of any tenant already has."""
    with unscoped():
        return list(db.session.scalars(
            select(Site.domain).where(Site.domain.in_(domains), Site.deleted_at.is_(None))))


def _reserve_site_slots(tenant: Tenant, count: int = 1) -> None:
    """Lock the tenant row, then check standing and count: concurrent creates for one tenant
    run one at a time, against the plan and status the subscription sync last wrote."""
    # The lock returns the row: its plan or status may have changed since it was loaded.
    db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(updated_at=utcnow())
                       .returning(Tenant), execution_options={"populate_existing": True}).one()
    billing_plans.require_good_standing(tenant)
    plan = billing_plans.plan_named(tenant.plan)
    if plan.storage_bytes is not None:
        stored = billing_plans.storage_in_use()
        if stored >= plan.storage_bytes:
            raise QuotaExceeded(
                f"The {plan.name} plan allows {plan.storage_gb} GB of storage and "
                f"{stored} bytes are in use.", storage_limit_bytes=plan.storage_bytes,
                storage_used_bytes=stored)
    if plan.max_sites is None:
        return
    used = billing_plans.sites_in_use()
    if used + count > plan.max_sites:
        asked = "" if count == 1 else f"; {count} were asked for"
        raise QuotaExceeded(
            f"The {plan.name} plan allows {plan.max_sites} sites and {used} are in use{asked}.",
            limit=plan.max_sites,
            used=used,
        )


def _place_site(actor: Actor, tenant: Tenant, vps: VpsServer, *, domain: str, type: str,
                php_version: str | None, options: dict, site_type) -> Site:
    """A new site on `vps` (placed by `fleet.place_sites`), added to the caller's transaction
    with its audit entry; `_insert_sites` writes them."""
    password = secrets.token_urlsafe(24) if site_type.needs_database else None
    site = Site(
        id=uuid.uuid4(), tenant_id=tenant.id, domain=domain, type=type, php_version=php_version,
        options=options, vps=vps, status="pending",
        db_password_encrypted=(current_app.extensions["chom_secrets"].encrypt(password)
                               if password else None),
    )
    db.session.add(site)
    audit.record(actor, "site.created", site, domain=domain, type=type)
    return site


def _insert_sites(sites: list[Site]) -> None:
    """Write the placed sites in one flush; a domain another request took meanwhile (the
    unique index) is `DomainTaken`."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        detail = (f"{sites[0].domain} is already hosted on this platform." if len(sites) == 1
                  else "A domain asked for was taken meanwhile; asking again names it.")
        raise DomainTaken(detail) from None


def create_site(
    actor: Actor,
    *,
    domain: str,
    type: str,
    php_version: str | None = None,
    options: dict | None = None,
    dry_run: bool = False,
    vps_name: str | None = None,
) -> CreatedSite | PlanPreview:
    """Create a site in the actor's tenant and enqueue its provisioning.

    `domain` must already be normalised (`chom.services.domains.normalize_domain`). Raises
    `ValidationFailed` (type, PHP version, options), `DomainTaken`, `QuotaExceeded`,
    `NoCapacity`. With `dry_run`, returns a `PlanPreview` and writes nothing. `vps_name`
    places the site on that VPS (a clone restored from a backup may ask for one).
    """
    actor.require("sites:write")
    tenant = actor.require_tenant()
    options = options or {}
    site_type, php_version = _validate_type_and_options(type, php_version, options)
    if _domains_taken([domain]):
        raise DomainTaken(f"{domain} is already hosted on this platform.")
    if dry_run:
        dedicated = plan_limits(tenant)["dedicated_vps"]
        vps = fleet.allocate_vps_for(tenant, dedicated=dedicated, reserve=False)
        return preview_plan(domain=domain, type=type, php_version=php_version, options=options,
                            vps=vps)

    _reserve_site_slots(tenant)
    [vps] = fleet.place_sites(tenant, dedicated=plan_limits(tenant)["dedicated_vps"], count=1,
                              vps_name=vps_name)
    site = _place_site(actor, tenant, vps, domain=domain, type=type, php_version=php_version,
                       options=options, site_type=site_type)
    _insert_sites([site])
    return CreatedSite(site, start_operation(actor, site, "provision",
                                                answered_with=(site, vps)))


MAX_BULK = 100


def create_sites(actor: Actor, specs: list[dict]) -> list[CreatedSite]:
    """Create several sites at once (all or none): each spec is `{domain, type, php_version?,
    options?}` with the domain already normalised. Every spec is validated first; errors name
    `sites.<i>.<field>`. One transaction, one quota check for them all; provisioning is
    enqueued for each (and applied in batches per VPS)."""
    actor.require("sites:write")
    tenant = actor.require_tenant()
    errors: dict[str, list[str]] = {}
    checked = []
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        options = spec.get("options") or {}
        try:
            site_type, php_version = _validate_type_and_options(
                spec["type"], spec.get("php_version"), options)
        except ValidationFailed as error:
            for field, messages in error.errors.items():
                errors[f"sites.{index}.{field}"] = messages
            continue
        domain = spec["domain"]
        if domain in seen:
            errors[f"sites.{index}.domain"] = [f"{domain} is listed twice."]
        seen.add(domain)
        checked.append((domain, spec["type"], php_version, options, site_type))
    if errors:
        raise ValidationFailed(errors)
    hosted = set(_domains_taken([domain for domain, *_ in checked]))
    taken = [domain for domain, *_ in checked if domain in hosted]
    if taken:
        raise DomainTaken(f"Already hosted on this platform: {', '.join(taken)}.", domains=taken)
    _reserve_site_slots(tenant, len(checked))
    servers = fleet.place_sites(tenant, dedicated=plan_limits(tenant)["dedicated_vps"],
                                count=len(checked))
    sites = [_place_site(actor, tenant, vps, domain=domain, type=type, php_version=php_version,
                         options=options, site_type=site_type)
             for vps, (domain, type, php_version, options, site_type) in zip(
                 servers, checked, strict=True)]
    _insert_sites(sites)
    operations = [new_operation(actor, site, "provision") for site in sites]
    commit_keeping(*sites, *servers, *operations)  # answered with next
    enqueue_operations(operations)
    return [CreatedSite(site, operation) for site, operation in zip(sites, operations,
                                                                      strict=True)]


def preview_plan(
    *,
    domain: str,
    type: str,
    php_version: str | None = None,
    options: dict | None = None,
    vps: VpsServer | None = None,
) -> PlanPreview:
    """The provision plan a new site would get on `vps` (by default the shared VPS with the most
    room), built without writing anything. Raises `ValidationFailed`, `NoCapacity`."""
    options = options or {}
    site_type, php_version = _validate_type_and_options(type, php_version, options)
    vps = vps or fleet.allocate_vps_for(None, dedicated=False, reserve=False)
    draft = Site(id=uuid.uuid4(), domain=domain, type=type, php_version=php_version,
                 options=options)
    password = "(generated at provisioning)" if site_type.needs_database else None
    plan = site_type.provision_plan(site_context(draft, vps, password))
    db.session.rollback()  # nothing of the draft may reach the database
    return PlanPreview(domain=domain, type=type, vps_name=vps.name, plan=plan)
