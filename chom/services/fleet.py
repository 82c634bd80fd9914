"""The VPS fleet: adding servers and choosing where a tenant's next site goes."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, func, literal, select

from chom.extensions import db
from chom.integration.transports.pool import transport_for
from chom.integration.transports.ssh import fetch_host_key, load_private_key, parse_host_key
from chom.models import Site, Tenant, VpsAllocation, VpsServer
from chom.models.scoping import unscoped
from chom.plugin_api import HostKeyMismatch, TransportUnavailable
from chom.services.errors import (
    Conflict,
    NoCapacity,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chom.services.lookup import get_or_not_found


def _live_sites_per_vps():
    return (
        select(Site.vps_id, func.count(Site.id).label("used"))
        .where(Site.deleted_at.is_(None))
        .group_by(Site.vps_id)
        .subquery()
    )


def _candidate_groups(tenant: Tenant | None, dedicated: bool) -> list[list[tuple]]:
    """`(vps, allocated)` in order of preference (most room first, counted without a lock),
    as groups: a later group is used only when every VPS of the earlier ones is full (a
    dedicated plan's own VPSes before spares). `allocated`: the tenant already has its
    `VpsAllocation` there (read under the tenant's lock, which every placement takes first:
    `sites._reserve_site_slots`)."""
    used = _live_sites_per_vps()
    free = VpsServer.capacity - func.coalesce(used.c.used, 0)
    allocated = exists().where(VpsAllocation.tenant_id == tenant.id,
                               VpsAllocation.vps_id == VpsServer.id) \
        if tenant is not None else literal(False)
    query = (
        select(VpsServer, allocated)
        .outerjoin(used, used.c.vps_id == VpsServer.id)
        .where(VpsServer.status == "active", free > 0)
        .order_by(free.desc(), VpsServer.name)
    )
    if not dedicated:
        return [list(db.session.execute(query.where(VpsServer.kind == "shared")).all())]
    mine = select(VpsAllocation.vps_id).where(
        VpsAllocation.tenant_id == tenant.id, VpsAllocation.dedicated.is_(True)
    )
    taken = select(VpsAllocation.vps_id).where(VpsAllocation.dedicated.is_(True))
    own = db.session.execute(query.where(VpsServer.id.in_(mine))).all()
    spare = db.session.execute(
        query.where(VpsServer.kind == "dedicated", VpsServer.id.not_in(taken))).all()
    return [list(own), list(spare)]


def _rooms_left(servers: list[VpsServer]) -> dict:
    """How many more sites each VPS takes, its row locked (in id order) until the caller's
    transaction ends, its live sites counted (one query for all)."""
    ids = sorted(vps.id for vps in servers)
    db.session.execute(select(VpsServer.id).where(VpsServer.id.in_(ids))
                       .order_by(VpsServer.id).with_for_update())
    used = dict(db.session.execute(
        select(Site.vps_id, func.count(Site.id))
        .where(Site.vps_id.in_(ids), Site.deleted_at.is_(None)).group_by(Site.vps_id)).all())
    return {vps.id: vps.capacity - used.get(vps.id, 0) for vps in servers}


def find_vps(name: str) -> VpsServer:
    """A fleet VPS by name; `NotFound` otherwise."""
    with unscoped():
        vps = db.session.scalar(select(VpsServer).where(VpsServer.name == name))
    if vps is None:
        raise NotFound(f"No VPS named {name!r} in the fleet.")
    return vps


def allocate_vps_for(
    tenant: Tenant | None, *, dedicated: bool, reserve: bool = True, vps_name: str | None = None
) -> VpsServer:
    """The active VPS with the most free capacity for `tenant`'s next site.

    Shared plans draw from the shared fleet; `dedicated` plans get the tenant's own VPS (or a
    spare dedicated one, then allocated to it). With `reserve`, the choice is locked in the
    caller's transaction so concurrent placements cannot overfill a VPS. `vps_name` asks for
    that VPS (it must be one the plan may use, with room). Raises `NoCapacity`.
    """
    if reserve:
        return place_sites(tenant, dedicated=dedicated, count=1, vps_name=vps_name)[0]
    with unscoped():
        for group in _candidate_groups(tenant, dedicated):
            for vps, _allocated in group:
                if vps_name is None or vps.name == vps_name:
                    return vps
    raise _no_capacity(vps_name)


def place_sites(tenant: Tenant | None, *, dedicated: bool, count: int,
                vps_name: str | None = None) -> list[VpsServer]:
    """A VPS for each of `count` new sites of `tenant`, locked in the caller's transaction:
    each the one `allocate_vps_for` would have chosen had the sites been placed one after
    another. Every candidate VPS is locked in id order (concurrent placements never deadlock)
    and counted in one query, however many sites are placed. Raises `NoCapacity` when the
    fleet cannot take them all."""
    with unscoped():
        rank, servers, allocated = {}, {}, set()
        for group_rank, group in enumerate(_candidate_groups(tenant, dedicated)):
            for vps, has_allocation in group:
                if vps_name is None or vps.name == vps_name:
                    rank[vps.id], servers[vps.id] = group_rank, vps
                    if has_allocation:
                        allocated.add(vps.id)
        room = _rooms_left(list(servers.values()))
        placements: list[VpsServer] = []
        while len(placements) < count:
            open_ids = [vps_id for vps_id, left in room.items() if left > 0]
            if not open_ids:
                raise _no_capacity(vps_name)
            best = min(open_ids, key=lambda vps_id: (rank[vps_id], -room[vps_id],
                                                     servers[vps_id].name))
            if best not in allocated:
                allocated.add(best)
                db.session.add(VpsAllocation(tenant_id=tenant.id, vps_id=best,
                                             dedicated=dedicated))
            rank[best] = 0  # a spare now allocated to the tenant is one of its own
            room[best] -= 1
            placements.append(servers[best])
        return placements


def _no_capacity(vps_name: str | None) -> NoCapacity:
    if vps_name is not None:
        return NoCapacity(f"The VPS {vps_name!r} cannot take another site of this tenant.")
    return NoCapacity("No VPS in the fleet has room for another site; an operator must add one.")


def add_vps(
    *,
    name: str,
    host: str,
    port: int = 22,
    ssh_user: str = "root",
    transport: str = "ssh",
    capacity: int = 50,
    dedicated: bool = False,
    host_key: str | None = None,
    settings: dict | None = None,
    ssh_private_key_encrypted: str | None = None,
) -> VpsServer:
    """Record a VPS in the fleet. Raises `Conflict` when the name is taken."""
    with unscoped():
        if db.session.scalar(select(VpsServer.id).where(VpsServer.name == name)):
            raise Conflict(f"A VPS named {name!r} already exists.")
        vps = VpsServer(
            name=name,
            host=host,
            port=port,
            ssh_user=ssh_user,
            transport=transport,
            capacity=capacity,
            kind="dedicated" if dedicated else "shared",
            host_key=host_key,
            settings=settings or {},
            ssh_private_key_encrypted=ssh_private_key_encrypted,
        )
        db.session.add(vps)
        db.session.commit()
    return vps


# What a VPS must have; printed one per line as "name:path" by the probe below, and bash's
# version as "bash:<major>.<minor>" (plans are bash programs: `chom.integration.plan_script`).
STACK_PROBE = (
    "for c in nginx mariadb mysql php-fpm8.2 php-fpm8.3 php-fpm8.4 php-fpm git; do "
    'p=$(command -v "$c" 2>/dev/null || ls /usr/sbin/"$c" 2>/dev/null) && echo "$c:$p"; done; '
    """v=$(bash -c 'echo "${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}"' 2>/dev/null) """
    '&& echo "bash:$v"; true'
)
REQUIRED_STACK = {"nginx": ("nginx",), "database": ("mariadb", "mysql"),
                  "php-fpm": ("php-fpm8.2", "php-fpm8.3", "php-fpm8.4", "php-fpm")}
MIN_BASH = (4, 4)  # `local -` in the programs' file helper


def missing_parts(found: dict[str, str]) -> list[str]:
    """What the probe's answer `found` lacks of the stack, in words."""
    missing = [part for part, names in REQUIRED_STACK.items()
               if not any(name in found for name in names)]
    try:
        bash = tuple(int(n) for n in found.get("bash", "").split("."))
    except ValueError:
        bash = ()
    if bash < MIN_BASH:
        missing.append(f"bash {MIN_BASH[0]}.{MIN_BASH[1]} or later")
    return missing


def _stack_of(vps: VpsServer) -> dict[str, str]:
    result = transport_for(vps).run(["sh", "-c", STACK_PROBE], timeout=30)
    return dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)


def probe_stack(vps: VpsServer) -> dict[str, str]:
    """Ask the VPS which parts of the hosting stack it has; raise `Conflict` when one lacks."""
    found = _stack_of(vps)
    missing = missing_parts(found)
    if missing:
        raise Conflict(f"{vps.name} lacks {', '.join(missing)}; install the stack first.")
    return found


@dataclass(frozen=True)
class StackCheck:
    """What a VPS was found to hold (program → path, and `bash` → its version) and what it lacks
    of the stack, in words (empty: nothing)."""

    vps: VpsServer
    found: dict[str, str]
    missing: list[str]


def check_vps(vps: VpsServer) -> StackCheck:
    """Probe a fleet VPS's stack again (added before a requirement was, or changed since) and
    record what it holds, whatever it lacks. `Conflict` when it cannot be reached."""
    try:
        found = _stack_of(vps)
    except (TransportUnavailable, HostKeyMismatch) as error:
        raise Conflict(f"Could not reach {vps.name}: {error}") from error
    vps.settings = {**vps.settings, "stack": found}
    db.session.commit()
    return StackCheck(vps, found, missing_parts(found))


def register_vps(
    *,
    name: str,
    host: str,
    port: int = 22,
    ssh_user: str = "root",
    capacity: int = 50,
    dedicated: bool = False,
    host_key: str | None = None,
    settings: dict | None = None,
    private_key_pem: str | None = None,
) -> VpsServer:
    """Add an SSH VPS: pin its host key (given, or fetched now for the operator to check),
    connect with it (with its own private key when given, stored encrypted), check the stack
    is there, and record it. Nothing is saved on failure."""
    if host_key is not None:
        try:
            parse_host_key(host_key)
        except ValueError as error:
            raise ValidationFailed({"host_key": [f"Give the key as `type base64`: {error}."]}) \
                from error
    encrypted_key = None
    if private_key_pem:
        try:
            load_private_key(pem=private_key_pem)
        except ValueError as error:
            raise Conflict(f"The private key is not usable: {error}") from error
        encrypted_key = current_app.extensions["chom_secrets"].encrypt(private_key_pem)
    try:
        pinned = host_key or fetch_host_key(host, port)
        draft = VpsServer(name=name, host=host, port=port, ssh_user=ssh_user, transport="ssh",
                          host_key=pinned, settings=settings or {},
                          ssh_private_key_encrypted=encrypted_key)
        stack = probe_stack(draft)
    except (TransportUnavailable, HostKeyMismatch) as error:
        raise Conflict(f"Could not reach {host}:{port} over SSH: {error}") from error
    return add_vps(name=name, host=host, port=port, ssh_user=ssh_user, transport="ssh",
                   capacity=capacity, dedicated=dedicated, host_key=pinned,
                   settings={**(settings or {}), "stack": stack},
                   ssh_private_key_encrypted=encrypted_key)


def list_vps() -> list[VpsServer]:
    with unscoped():
        return list(db.session.scalars(select(VpsServer).order_by(VpsServer.name)))


@dataclass(frozen=True)
class VpsUsage:
    vps: VpsServer
    used: int  # live sites placed on it


def require_operator(user) -> None:
    """Raise `PermissionDenied` unless `user` is a platform operator (a flag, not an org role)."""
    if not getattr(user, "is_operator", False):
        raise PermissionDenied("Only platform operators manage the fleet.")


def usage_of(vps: VpsServer) -> VpsUsage:
    """The VPS with how many live sites it holds."""
    with unscoped():
        used = db.session.scalar(select(func.count(Site.id)).where(
            Site.vps_id == vps.id, Site.deleted_at.is_(None)))
    return VpsUsage(vps, used)


def fleet_usage(user) -> list[VpsUsage]:
    """Every VPS with how many live sites it holds, by name (operators only)."""
    require_operator(user)
    used = _live_sites_per_vps()
    query = (select(VpsServer, func.coalesce(used.c.used, 0))
             .outerjoin(used, used.c.vps_id == VpsServer.id).order_by(VpsServer.name))
    with unscoped():
        return [VpsUsage(vps, count) for vps, count in db.session.execute(query).all()]


def get_vps(user, vps_id) -> VpsServer:
    """A fleet VPS by id (operators only); `NotFound` otherwise."""
    require_operator(user)
    with unscoped():
        return get_or_not_found(VpsServer, vps_id, "VPS")


def operator_register_vps(user, **details) -> VpsUsage:
    """`register_vps` for a platform operator (the API): nothing is connected to for anyone
    else. Returns the new VPS with its use (none yet)."""
    require_operator(user)
    return VpsUsage(register_vps(**details), 0)


def operator_check_vps(user, vps_id) -> StackCheck:
    """`check_vps` of a fleet VPS by id, for a platform operator."""
    return check_vps(get_vps(user, vps_id))


def check_reachable(vps: VpsServer) -> tuple[bool, str]:
    """Whether the VPS answers a no-op command over its transport now: (reachable, detail)."""
    try:
        transport_for(vps).run(["true"], timeout=10)
    except (TransportUnavailable, HostKeyMismatch, OSError) as error:
        return False, str(error) or type(error).__name__
    return True, "answers"
