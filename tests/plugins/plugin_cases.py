"""The sites the site-type plugin tests build plans for (imported by the test modules)."""

from __future__ import annotations

import dataclasses

from chom.plugin_api import SiteContext, SitePaths

#: each site type by name, and the module its entry point names
PLUGIN_MODULES = {"html": "chom_html", "wordpress": "chom_wordpress", "laravel": "chom_laravel"}

SITE_ID = "3f1c2a9e-8d4b-4c1e-9f6a-2b7d5e0c1a44"
DOMAIN = "example.com"
DATABASE_PASSWORD = "Xq7-fixed-test-password-Lm2"

PATHS = SitePaths(
    web_root="/var/www/site-3f1c2a9e",
    nginx_site_name="site-3f1c2a9e",
    system_user="site-3f1c2a9e",
    php_pool_name="site-3f1c2a9e",
    php_socket="/run/php/site-3f1c2a9e.sock",
    database_name="site_3f1c2a9e",
    database_user="site_3f1c2a9e",
    acme_challenge_dir="/var/lib/chom/acme/example.com",
    tls_certificate="/etc/ssl/chom/example.com.crt",
    tls_key="/etc/ssl/chom/example.com.key",
    access_log="/var/log/nginx/example.com.access.log",
    error_log="/var/log/nginx/example.com.error.log",
    php_error_log="/var/log/chom-php/example.com.log",
)

#: a VPS whose remote paths are sandboxed (as on the test fleet): nothing may assume /var/www
SANDBOX_PATHS = SitePaths(
    web_root="/srv/fleet/vps1/www/s9",
    nginx_site_name="s9",
    system_user="chom-s9",
    php_pool_name="pool-s9",
    php_socket="/srv/fleet/vps1/run/pool-s9.sock",
    database_name="db_s9",
    database_user="u_s9",
    acme_challenge_dir="/srv/fleet/vps1/acme/s9",
    tls_certificate="/srv/fleet/vps1/tls/s9.crt",
    tls_key="/srv/fleet/vps1/tls/s9.key",
    access_log="/srv/fleet/vps1/log/s9.access.log",
    error_log="/srv/fleet/vps1/log/s9.error.log",
    php_error_log="/srv/fleet/vps1/log/php/s9.log",
    logrotate_dir="/srv/fleet/vps1/logrotate.d",
)

#: (site type, case, options); the case "default" has golden files for every action, the
#: others (whose options change only the provision plan and the probe) for provision alone
CASES = (
    ("html", "default", {}),
    ("html", "custom-index", {"index_html": "<!doctype html><p>Welcome to Acme</p>\n"}),
    ("wordpress", "default", {}),
    (
        "wordpress",
        "install",
        {
            "site_title": 'Acme\'s "Blog"',
            "admin_user": "editor",
            "admin_email": "owner@example.com",
            "admin_password": "it's-a-long\\secret",
        },
    ),
    ("laravel", "default", {}),
    (
        "laravel",
        "git",
        {"git_url": "https://git.example.org/acme/shop.git", "git_ref": "release/1.2"},
    ),
)

ACTIONS = ("provision", "deprovision", "suspend", "resume")


def make_site(type_name: str, options: dict | None = None, **changes) -> SiteContext:
    """A site of `type_name` with fixed id, domain, paths and password."""
    site = SiteContext(
        id=SITE_ID,
        domain=DOMAIN,
        type=type_name,
        php_version=None if type_name == "html" else "8.2",
        options=dict(options or {}),
        paths=PATHS,
        database_password=None if type_name == "html" else DATABASE_PASSWORD,
    )
    return dataclasses.replace(site, **changes)
