"""What a site is on its VPS: paths and names derived from the VPS profile and the site id."""

from __future__ import annotations

import uuid

from chom.models import Site, VpsServer
from chom.plugin_api import SiteContext, SitePaths

# Debian layout; a VPS's `settings` override any of these (the test fleet and `local` do).
DEFAULT_PROFILE = {
    "web_root_base": "/var/www",
    "nginx_sites_dir": "/etc/nginx/sites-enabled",
    "php_socket_dir": "/run/php",
    "acme_challenge_base": "/var/lib/chom/acme",
    "tls_dir": "/etc/ssl/chom",
    "nginx_log_dir": "/var/log/nginx",
    "php_log_dir": "/var/log/chom-php",
    "logrotate_dir": "/etc/logrotate.d",
}


def profile_of(vps: VpsServer | None) -> dict:
    return {**DEFAULT_PROFILE, **((vps.settings or {}) if vps else {})}


def paths_for(site_id: uuid.UUID, domain: str, profile: dict) -> SitePaths:
    """Where a site lives under a VPS profile. Names never come from user input beyond the
    validated domain."""
    short = site_id.hex[:12]
    user = f"chom{short}"
    return SitePaths(
        web_root=f"{profile['web_root_base']}/{domain}",
        nginx_site_name=f"{domain}.conf",
        system_user=user,
        php_pool_name=user,
        php_socket=f"{profile['php_socket_dir']}/{user}.sock",
        database_name=f"chom_{short}",
        database_user=f"chom_{short}",
        acme_challenge_dir=f"{profile['acme_challenge_base']}/{domain}",
        tls_certificate=f"{profile['tls_dir']}/{domain}.crt",
        tls_key=f"{profile['tls_dir']}/{domain}.key",
        access_log=f"{profile['nginx_log_dir']}/{domain}.access.log",
        error_log=f"{profile['nginx_log_dir']}/{domain}.error.log",
        php_error_log=f"{profile['php_log_dir']}/{domain}.log",
        logrotate_dir=profile["logrotate_dir"],
    )


def site_paths(site: Site, vps: VpsServer | None) -> SitePaths:
    return paths_for(site.id, site.domain, profile_of(vps))


def site_context(site: Site, vps: VpsServer | None, database_password: str | None) -> SiteContext:
    return SiteContext(
        id=str(site.id),
        domain=site.domain,
        type=site.type,
        php_version=site.php_version,
        options=dict(site.options or {}),
        paths=site_paths(site, vps),
        database_password=database_password,
        tls_enabled=bool(site.ssl_enabled),
    )
