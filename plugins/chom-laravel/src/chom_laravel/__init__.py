"""Laravel sites for CHOM: an app from git (or a starter app), its own pool and database."""

from __future__ import annotations

from chom.plugin_api import (
    DropDatabase,
    EnsureDatabase,
    EnsureDirectory,
    EnsureNginxSite,
    EnsurePhpPool,
    EnsureSystemUser,
    HealthProbe,
    Plan,
    PutFile,
    ReloadService,
    RemoveNginxSite,
    RemovePath,
    RemovePhpPool,
    RemoveSystemUser,
    RunCommand,
    SiteContext,
    SiteType,
    Step,
    hookimpl,
    php_pool_config,
    php_site_log_steps,
    remove_site_logs,
)

from . import templates


def _php_version(site: SiteContext) -> str:
    if not site.php_version:
        raise ValueError(f"Laravel site {site.id} has no php_version")
    return site.php_version


def _database_password(site: SiteContext) -> str:
    if not site.database_password:
        raise ValueError(f"Laravel site {site.id} has no database password")
    return site.database_password


def _app_from_git(site: SiteContext) -> tuple[Step, ...]:
    """Clone once (the clone creates `artisan`), then install dependencies once."""
    web_root = site.paths.web_root
    user = site.paths.system_user
    branch = (f"--branch={site.options['git_ref']}",) if "git_ref" in site.options else ()
    return (
        RunCommand(
            ("git", "clone", "--depth", "1", *branch, "--", site.options["git_url"], web_root),
            creates=f"{web_root}/artisan",
            run_as=user,
        ),
        # Meant for apps with a composer.lock; an app that commits vendor/autoload.php (one
        # built on Debian's framework, say) skips it.
        RunCommand(
            _composer_install(web_root), creates=f"{web_root}/vendor/autoload.php", run_as=user
        ),
    )


def _composer_install(web_root: str) -> tuple[str, ...]:
    return ("composer", "install", "--no-dev", "--no-interaction", "--prefer-dist",
            "--optimize-autoloader", f"--working-dir={web_root}")


def _starter_app(site: SiteContext) -> tuple[Step, ...]:
    """The starter app on Debian's php-laravel-framework: no Composer, no network."""
    web_root = site.paths.web_root
    user = site.paths.system_user
    return (
        *(
            EnsureDirectory(f"{web_root}/{directory}", owner=user)
            for directory in templates.STARTER_DIRECTORIES
        ),
        *(
            PutFile(f"{web_root}/{path}", content, owner=user)
            for path, content in templates.STARTER_FILES.items()
        ),
    )


class LaravelSiteType(SiteType):
    """A Laravel app under its own user: cloned from `git_url` (at `git_ref`), or, without
    one, a starter app running on Debian's php-laravel-framework that says hello.

    The clone and `composer install` run once (they are skipped when their output exists);
    `.env` and the writable directories are re-applied on every provision.
    """

    name = "laravel"
    label = "Laravel"
    uses_php = True
    needs_database = True
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "git_url": {
                "type": "string",
                "maxLength": 500,
                # No local paths or file:// (other sites' files), no shell characters.
                "pattern": (
                    "^(?:(?:https?|git|ssh)://[A-Za-z0-9._~:/?#@!%+=,-]+"
                    "|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+)$"
                ),
            },
            "git_ref": {
                "type": "string",
                "description": "A branch or tag of git_url.",
                "maxLength": 200,
                "pattern": "^[A-Za-z0-9_][A-Za-z0-9._/-]*$",
            },
        },
        "dependentRequired": {"git_ref": ["git_url"]},
    }

    def provision_plan(self, site: SiteContext) -> Plan:
        paths = site.paths
        php_version = _php_version(site)
        password = _database_password(site)
        user = paths.system_user
        web_root = paths.web_root
        app = _app_from_git(site) if "git_url" in site.options else _starter_app(site)
        return Plan(
            "provision",
            (
                EnsureSystemUser(user, home=web_root),
                EnsureDirectory(web_root, owner=user),
                *php_site_log_steps(site),
                EnsurePhpPool(paths.php_pool_name, user, php_version, php_pool_config(site)),
                EnsureDatabase(paths.database_name, paths.database_user, password),
                *app,
                PutFile(
                    f"{web_root}/.env", templates.dotenv(site, password), owner=user, mode="0640"
                ),
                *(
                    EnsureDirectory(f"{web_root}/{directory}", owner=user, mode="0750")
                    for directory in templates.WRITABLE_DIRECTORIES
                ),
                EnsureNginxSite(paths.nginx_site_name, templates.nginx_site(site)),
                ReloadService("php-fpm", php_version=php_version),
                ReloadService("nginx"),
            ),
        )

    def deprovision_plan(self, site: SiteContext) -> Plan:
        paths = site.paths
        php_version = _php_version(site)
        return Plan(
            "deprovision",
            (
                RemoveNginxSite(paths.nginx_site_name),
                ReloadService("nginx"),
                RemovePhpPool(paths.php_pool_name, php_version),
                ReloadService("php-fpm", php_version=php_version),
                DropDatabase(paths.database_name, paths.database_user),
                RemovePath(paths.web_root),
                RemoveSystemUser(paths.system_user),
                *remove_site_logs(site),
            ),
        )

    def suspend_plan(self, site: SiteContext) -> Plan:
        paths = site.paths
        return Plan(
            "suspend",
            (
                PutFile(
                    f"{paths.web_root}/{templates.SUSPENDED_PAGE}",
                    templates.suspended_page(site.domain),
                ),
                EnsureNginxSite(paths.nginx_site_name, templates.suspended_nginx_site(site)),
                ReloadService("nginx"),
            ),
        )

    def resume_plan(self, site: SiteContext) -> Plan:
        paths = site.paths
        return Plan(
            "resume",
            (
                EnsureNginxSite(paths.nginx_site_name, templates.nginx_site(site)),
                ReloadService("nginx"),
                RemovePath(f"{paths.web_root}/{templates.SUSPENDED_PAGE}"),
            ),
        )

    def deploy_plan(self, site: SiteContext) -> Plan | None:
        """An app from git: fetch `git_ref` (else the repository's default branch) and check
        it out, install Composer's dependencies when the app has a `composer.lock`, migrate,
        and reload PHP-FPM so that no worker keeps serving the old code from its cache. The
        starter app has nothing to deploy."""
        if "git_url" not in site.options:
            return None
        web_root, user = site.paths.web_root, site.paths.system_user
        return Plan(
            "deploy",
            (
                RunCommand(("git", "-C", web_root, "fetch", "--depth", "1", "origin",
                            site.options.get("git_ref", "HEAD")), run_as=user),
                RunCommand(("git", "-C", web_root, "reset", "--hard", "FETCH_HEAD"),
                           run_as=user),
                RunCommand(_composer_install(web_root),
                           only_if_exists=f"{web_root}/composer.lock", run_as=user),
                RunCommand(("php", f"{web_root}/artisan", "migrate", "--force"), run_as=user),
                ReloadService("php-fpm", php_version=_php_version(site)),
            ),
        )

    def health_probe(self, site: SiteContext) -> HealthProbe:
        # An app from git may answer anything on `/`: then only the status tells.
        if "git_url" in site.options:
            return HealthProbe(path="/")
        return HealthProbe(path="/", expect_text=templates.STARTER_TEXT)


@hookimpl
def chom_register_site_types() -> list[SiteType]:
    """Provide the `laravel` site type."""
    return [LaravelSiteType()]
