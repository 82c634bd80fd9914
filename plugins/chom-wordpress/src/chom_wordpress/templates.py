"""The text files a WordPress site needs: nginx blocks, php-fpm pool, wp-config.php, pages."""

from __future__ import annotations

import hashlib
import hmac
from html import escape

from chom.plugin_api import SiteContext, server_block_common

SALT_NAMES = (
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
)
#: the suspended page lives in the web root under a dot-name the normal block never serves
SUSPENDED_PAGE = ".chom-suspended.html"


def php_string(value: str) -> str:
    """`value` as a PHP single-quoted literal (only backslash and quote are special there)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def salts(site_id: str, secret: str) -> dict[str, str]:
    """WordPress's keys and salts, derived from the site's secret so a re-applied plan converges.

    They change when the database password changes, which logs every user out (as WordPress
    does when its salts are rotated).
    """
    return {
        name: hmac.new(
            secret.encode(), f"chom-wordpress:{site_id}:{name}".encode(), hashlib.sha512
        ).hexdigest()
        for name in SALT_NAMES
    }


def wp_config(site: SiteContext, database_password: str) -> str:
    """wp-config.php: database settings, salts, and direct file access for updates."""
    paths = site.paths
    settings = {
        "DB_NAME": paths.database_name,
        "DB_USER": paths.database_user,
        "DB_PASSWORD": database_password,
        "DB_HOST": "localhost",
        "DB_CHARSET": "utf8mb4",
        "DB_COLLATE": "",
        **salts(site.id, database_password),
        "FS_METHOD": "direct",
    }
    defines = "".join(f"define({php_string(k)}, {php_string(v)});\n" for k, v in settings.items())
    return (
        "<?php\n"
        "// Written by CHOM on every provision: change settings through CHOM, not here.\n"
        f"{defines}"
        "define('WP_DEBUG', false);\n"
        "$table_prefix = 'wp_';\n"
        "if (!defined('ABSPATH')) {\n"
        "    define('ABSPATH', __DIR__ . '/');\n"
        "}\n"
        "require_once ABSPATH . 'wp-settings.php';\n"
    )


def install_script(site: SiteContext) -> str:
    """A PHP CLI script that runs WordPress's installer once; it does nothing when installed."""
    options = site.options
    url = php_string(f"http://{site.domain}")
    return (
        "<?php\n"
        "// Written, run and removed by CHOM's provision plan.\n"
        "define('WP_INSTALLING', true);\n"
        f"$_SERVER['HTTP_HOST'] = {php_string(site.domain)};\n"
        "require __DIR__ . '/wp-load.php';\n"
        "require_once ABSPATH . 'wp-admin/includes/upgrade.php';\n"
        "if (is_blog_installed()) {\n"
        "    exit(0);\n"
        "}\n"
        "$result = wp_install(\n"
        f"    {php_string(options.get('site_title', site.domain))},\n"
        f"    {php_string(options.get('admin_user', 'admin'))},\n"
        f"    {php_string(options['admin_email'])},\n"
        "    true,\n"
        "    '',\n"
        f"    {php_string(options['admin_password'])}\n"
        ");\n"
        "if (is_wp_error($result)) {\n"
        "    fwrite(STDERR, $result->get_error_message() . PHP_EOL);\n"
        "    exit(1);\n"
        "}\n"
        # The CLI has no request to guess the site's address from.
        f"update_option('siteurl', {url});\n"
        f"update_option('home', {url});\n"
    )


def nginx_site(site: SiteContext) -> str:
    """The server block: static files from the web root, PHP through the site's pool."""
    return (
        "server {\n"
        "    listen 80;\n"
        f"    server_name {site.domain};\n"
        f"{server_block_common(site)}"
        f"    root {site.paths.web_root};\n"
        "    index index.php index.html;\n"
        "    client_max_body_size 64m;\n"
        "\n"
        # Before the PHP location: dot-files (the installer, the suspended page) stay private.
        "    location ~ /\\.(?!well-known/) {\n"
        "        deny all;\n"
        "    }\n"
        "\n"
        "    location / {\n"
        "        try_files $uri $uri/ /index.php?$args;\n"
        "    }\n"
        "\n"
        "    location ~ \\.php$ {\n"
        "        try_files $uri =404;\n"
        "        include /etc/nginx/fastcgi_params;\n"
        "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
        f"        fastcgi_pass unix:{site.paths.php_socket};\n"
        "    }\n"
        "}\n"
    )


def suspended_nginx_site(site: SiteContext) -> str:
    """A server block that answers every request with the suspended page and status 503."""
    return (
        "server {\n"
        "    listen 80;\n"
        f"    server_name {site.domain};\n"
        f"{server_block_common(site)}"
        f"    root {site.paths.web_root};\n"
        "\n"
        f"    location = /{SUSPENDED_PAGE} {{\n"
        "        internal;\n"
        "    }\n"
        "\n"
        "    location / {\n"
        "        return 503;\n"
        "    }\n"
        "\n"
        f"    error_page 503 /{SUSPENDED_PAGE};\n"
        "}\n"
    )


def suspended_page(domain: str) -> str:
    """The page a suspended site answers with."""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        '<head><meta charset="utf-8"><title>Site suspended</title></head>\n'
        "<body>\n<h1>This site is suspended</h1>\n"
        f"<p>{escape(domain)} is not available at the moment.</p>\n</body>\n"
        "</html>\n"
    )
