"""WordPress sites for CHOM: Debian's WordPress copied per site, its own pool and database."""

from __future__ import annotations

from chom.plugin_api import (
    DropDatabase,
    EnsureDatabase,
    EnsureDirectory,
    EnsureNginxSite,
    EnsureOwner,
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
    RunSql,
    SiteContext,
    SiteType,
    Step,
    hookimpl,
    php_pool_config,
    php_site_log_steps,
    remove_site_logs,
    sql_string,
)

from . import templates

#: where Debian's `wordpress` package keeps WordPress
WORDPRESS_SOURCE = "/usr/share/wordpress"
INSTALLER = ".chom-install.php"


def _php_version(site: SiteContext) -> str:
    if not site.php_version:
        raise ValueError(f"WordPress site {site.id} has no php_version")
    return site.php_version


def _database_password(site: SiteContext) -> str:
    if not site.database_password:
        raise ValueError(f"WordPress site {site.id} has no database password")
    return site.database_password


def rewrite_urls_sql(old_domain: str, new_domain: str) -> str:
    """SQL moving a WordPress database from one domain to another (both validated host
    names; quoted all the same)."""
    old, new = sql_string(f"//{old_domain}"), sql_string(f"//{new_domain}")
    # Both values pass through sql_string, which escapes quotes and backslashes.
    return (
        f"UPDATE wp_options SET option_value = REPLACE(option_value, {old}, {new}) "  # noqa: S608
        "WHERE option_name IN ('siteurl', 'home');\n"
        f"UPDATE wp_posts SET post_content = REPLACE(post_content, {old}, {new}), "
        f"guid = REPLACE(guid, {old}, {new});\n"
    )


class WordPressSiteType(SiteType):
    """WordPress from Debian's `wordpress` package, one copy per site under its own user.

    With `admin_email` and `admin_password` the provision plan also runs WordPress's installer
    (once: it does nothing on an installed site); without them the site shows the installer.
    """

    name = "wordpress"
    label = "WordPress"
    uses_php = True
    needs_database = True
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "site_title": {"type": "string", "minLength": 1, "maxLength": 200},
            "admin_user": {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{1,60}$"},
            "admin_email": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
            },
            "admin_password": {"type": "string", "minLength": 12, "maxLength": 200},
        },
        "dependentRequired": {
            "admin_email": ["admin_password"],
            "admin_password": ["admin_email"],
            "admin_user": ["admin_email"],
        },
    }

    def provision_plan(self, site: SiteContext) -> Plan:
        paths = site.paths
        php_version = _php_version(site)
        password = _database_password(site)
        user = paths.system_user
        web_root = paths.web_root
        return Plan(
            "provision",
            (
                EnsureSystemUser(user, home=web_root),
                EnsureDirectory(web_root, owner=user),
                *php_site_log_steps(site),
                EnsurePhpPool(paths.php_pool_name, user, php_version, php_pool_config(site)),
                EnsureDatabase(paths.database_name, paths.database_user, password),
                # Dereferenced: Debian's tree links into /var/lib/wordpress and /usr/share, and
                # each site needs its own wp-content.
                RunCommand(
                    (
                        "cp",
                        "--recursive",
                        "--dereference",
                        "--preserve=mode,timestamps",
                        f"{WORDPRESS_SOURCE}/.",
                        web_root,
                    ),
                    creates=f"{web_root}/wp-settings.php",
                ),
                PutFile(
                    f"{web_root}/wp-config.php",
                    templates.wp_config(site, password),
                    owner=user,
                    mode="0640",
                ),
                EnsureOwner(web_root, user),
                *self._install_steps(site, php_version),
                EnsureNginxSite(paths.nginx_site_name, templates.nginx_site(site)),
                ReloadService("php-fpm", php_version=php_version),
                ReloadService("nginx"),
            ),
        )

    def _install_steps(self, site: SiteContext, php_version: str) -> tuple[Step, ...]:
        if "admin_email" not in site.options:
            return ()
        # The script holds the admin password: only the site's user can read it, nginx
        # refuses dot-files, and it is removed as soon as it has run.
        script = f"{site.paths.web_root}/{INSTALLER}"
        user = site.paths.system_user
        return (
            PutFile(script, templates.install_script(site), owner=user, mode="0600"),
            RunCommand((f"php{php_version}", script), run_as=user),
            RemovePath(script),
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

    def restore_plan(self, site: SiteContext, *, source_domain: str) -> Plan:
        """The provision plan (wp-config.php with this site's database credentials), then, in a
        clone, WordPress's URLs moved to the new domain: `siteurl`, `home`, and links and
        GUIDs in posts. `//domain` is replaced, so http and https links both move."""
        steps = self.provision_plan(site).steps
        if source_domain != site.domain:
            steps += (RunSql(site.paths.database_name, rewrite_urls_sql(source_domain,
                                                                        site.domain)),)
        return Plan("restore", steps)

    def health_probe(self, site: SiteContext) -> HealthProbe:
        # Until it is installed, WordPress redirects every page to its installer.
        path = "/wp-login.php" if "admin_email" in site.options else "/wp-admin/install.php"
        return HealthProbe(path=path, expect_text="WordPress")


@hookimpl
def chom_register_site_types() -> list[SiteType]:
    """Provide the `wordpress` site type."""
    return [WordPressSiteType()]
