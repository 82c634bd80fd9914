"""`flask chom ...`: operator commands (one Click group)."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from chom.services import (
    accounts,
    billing_sync,
    coherency,
    dashboards,
    fleet,
    keys,
    operators,
    provisioning,
    sites,
)
from chom.services.domains import InvalidDomain, normalize_domain
from chom.services.errors import ChomError, ValidationFailed

chom_cli = AppGroup("chom", help="CHOM operator commands.")


def _fail(error: ChomError):
    fields = getattr(error, "errors", None) or {}
    named = "".join(f"\n  {name}: {' '.join(map(str, problems))}"
                    for name, problems in fields.items())
    raise click.ClickException(error.detail + named)


@chom_cli.command("demo")
def demo():
    """Add the `local` VPS when the fleet is empty and a demo login; print the login."""
    created = operators.ensure_demo(current_app.config)
    click.echo(f"Demo login: {created.email} / {created.password}")
    if created.token:
        click.echo(f"API token: {created.token}")


@chom_cli.group("operator")
def operator_group():
    """Platform operators (they manage the fleet)."""


@operator_group.command("create")
@click.argument("email")
@click.option("--name", default="Operator")
@click.password_option()
def operator_create(email, name, password):
    """Create (or promote) a platform operator."""
    try:
        user = operators.create_operator(email=email, name=name, password=password)
    except ChomError as error:
        _fail(error)
    click.echo(f"Operator {user.email} ready.")


@chom_cli.group("vps")
def vps_group():
    """The VPS fleet."""


@vps_group.command("add")
@click.argument("host")
@click.option("--name", help="defaults to the host")
@click.option("--port", default=22, show_default=True)
@click.option("--user", "ssh_user", default="root", show_default=True)
@click.option("--capacity", default=50, show_default=True, help="sites it may hold")
@click.option("--dedicated", is_flag=True, help="reserve for one Enterprise tenant")
@click.option("--transport", default="ssh", show_default=True, type=click.Choice(["ssh", "local"]))
@click.option("--host-key", help='pin this key ("ssh-ed25519 AAAA..."); default: fetch it now')
@click.option("--settings", "settings_json", default="{}", help="VPS profile as JSON")
@click.option("--key-file", type=click.File("r"),
              help="this VPS's own SSH private key (stored encrypted)")
def vps_add(host, name, port, ssh_user, capacity, dedicated, transport, host_key,
            settings_json, key_file):
    """Add a VPS to the fleet (ssh: pins its host key and checks its stack)."""
    try:
        settings = json.loads(settings_json)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--settings") from error
    if not isinstance(settings, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--settings")
    options = dict(name=name or host, host=host, port=port, ssh_user=ssh_user,
                   capacity=capacity, dedicated=dedicated, settings=settings)
    try:
        if transport == "ssh":
            vps = fleet.register_vps(host_key=host_key,
                                     private_key_pem=key_file.read() if key_file else None,
                                     **options)
            click.echo(f"Pinned host key: {vps.host_key}")
        else:
            vps = fleet.add_vps(transport=transport, **options)
    except ChomError as error:
        _fail(error)
    click.echo(f"Added {vps.name} ({vps.kind}, capacity {vps.capacity}).")


@vps_group.command("check")
@click.argument("name")
def vps_check(name):
    """Check a VPS's stack again (nginx, a database, PHP-FPM, bash 4.4+) and record it."""
    try:
        check = fleet.check_vps(fleet.find_vps(name))
    except ChomError as error:
        _fail(error)
    for part, where in sorted(check.found.items()):
        click.echo(f"{part}\t{where}")
    if check.missing:
        raise click.ClickException(f"{name} lacks {', '.join(check.missing)}; "
                                   "install the stack first.")
    click.echo(f"{name} has the stack CHOM needs.")


@vps_group.command("list")
def vps_list():
    """List the fleet."""
    for vps in fleet.list_vps():
        click.echo(f"{vps.name}\t{vps.transport}://{vps.ssh_user}@{vps.host}:{vps.port}\t"
                   f"{vps.kind}\tcapacity {vps.capacity}\t{vps.status}")


@chom_cli.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
def worker(burst):
    """Run an RQ worker for CHOM's queue, with the app context."""
    from chom.jobs.worker import run_worker

    ok = run_worker(current_app._get_current_object(), burst=burst)
    sys.exit(0 if ok else 1)


@chom_cli.command("scheduler")
def scheduler():
    """Run the recurring work (daily backups, certificate renewals, reconcile, retention,
    usage snapshots) on rq's cron scheduler; several may run, one leads."""
    import signal
    import threading

    from chom.integration.queue import current_queue
    from chom.jobs.scheduled import build_scheduler

    queue = current_queue()
    if queue.mode != "rq":
        raise click.ClickException("The scheduler needs Redis (REDIS_URL): its jobs run on RQ.")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner = build_scheduler(current_app.config, queue.connection)
    click.echo(f"scheduler {runner.name}: {len(runner.get_jobs())} recurring jobs")
    runner.run(stop)


@chom_cli.command("plan")
@click.argument("domain")
@click.option("--type", "site_type", required=True, help="site type, e.g. html")
@click.option("--php", "php_version", help="PHP version for PHP site types")
@click.option("--options", "options_json", default="{}", help="site-type options as JSON")
@click.option("--vps", "vps_name", help="the VPS to plan for (default: most room)")
def plan(domain, site_type, php_version, options_json, vps_name):
    """Print the provision plan a site would get; touches nothing."""
    try:
        options = json.loads(options_json)
        domain = normalize_domain(domain)
    except (json.JSONDecodeError, InvalidDomain) as error:
        raise click.BadParameter(str(error)) from error
    try:
        preview = sites.preview_plan(
            domain=domain, type=site_type, php_version=php_version, options=options,
            vps=fleet.find_vps(vps_name) if vps_name else None)
    except ValidationFailed as error:
        raise click.ClickException(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.errors.items())
        ) from error
    except ChomError as error:
        _fail(error)
    click.echo(f"{preview.plan.action} {preview.domain} ({preview.type}) on {preview.vps_name}:")
    for index, line in enumerate(preview.plan.describe(), start=1):
        click.echo(f"  {index:>2}. {line}")


@chom_cli.command("reconcile")
@click.option("--site", "site_ids", multiple=True, type=click.UUID,
              help="Only this site (id); repeatable.")
@click.option("--check-only", is_flag=True, help="Report drift; do not repair it.")
def reconcile(site_ids, check_only):
    """Resume stalled operations, then compare each active site with its VPS and repair drift.

    Exits with status 1 when drift (or an unreachable VPS) remains unrepaired."""
    resumed = provisioning.resume_stalled_operations()
    for operation in resumed:
        click.echo(f"resumed {operation.kind} operation {operation.id} (site {operation.site_id})")
    click.echo(f"{len(resumed)} operation(s) resumed.")
    reports = coherency.check_sites(list(site_ids) or None)
    for report in reports:
        state = "ok" if report.coherent else (report.error or "drift: " + "; ".join(report.drift))
        click.echo(f"{report.domain} on {report.vps}: {state}")
    repairs = [] if check_only else coherency.repair(reports)
    for operation in repairs:
        click.echo(f"repair operation {operation.id} queued (site {operation.site_id})")
    click.echo(f"{len(reports)} site(s) checked, {sum(not r.coherent for r in reports)} "
               f"incoherent, {len(repairs)} repair(s) queued.")
    if any(r.error for r in reports) or (check_only and any(r.drift for r in reports)):
        sys.exit(1)


@chom_cli.group("billing")
def billing_group():
    """Billing upkeep."""


@billing_group.command("enforce")
def billing_enforce():
    """Suspend the sites of tenants past their grace period or trial, resume paid ones (run
    it periodically, e.g. hourly)."""
    changed = billing_sync.enforce_standing()
    click.echo(f"{changed} tenant(s) changed.")


@chom_cli.command("rotate-keys")
def rotate_keys():
    """Re-encrypt every secret under the newest of CHOM_ENCRYPTION_KEYS."""
    for name, count in keys.rotate_encryption_keys().items():
        click.echo(f"{name}: {count} re-encrypted")
    click.echo("Done: the older keys can now be removed from CHOM_ENCRYPTION_KEYS.")


@chom_cli.command("dashboards")
@click.option("--tenant", "tenant_id", help="one tenant's id (default: every tenant)")
def provision_dashboards(tenant_id):
    """Create or update each tenant's Grafana folder, team permission and sites dashboard."""
    try:
        done = ({tenant_id: dashboards.provision_tenant_dashboards(tenant_id)} if tenant_id
                else dashboards.provision_all_dashboards())
    except ChomError as error:
        _fail(error)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    for tenant, result in done.items():
        click.echo(f"tenant {tenant}: folder {result['folder']}, "
                   f"dashboards {', '.join(result['dashboards'])}")


@chom_cli.command("create-user")
@click.argument("email")
@click.option("--organization", required=True)
@click.option("--name", default="Owner")
@click.password_option()
def create_user(email, organization, name, password):
    """Create an organization with its owner (like the register endpoint)."""
    try:
        result = accounts.register(organization=organization, name=name, email=email,
                                   password=password)
    except ChomError as error:
        _fail(error)
    click.echo(f"Created {result.user.email} in {result.organization.name}.")


def init_app(app) -> None:
    app.cli.add_command(chom_cli)
