"""Static HTML sites for CHOM: a web root, an index page and an nginx server block."""

from __future__ import annotations

from html import escape

from chom.plugin_api import (
    EnsureDirectory,
    EnsureNginxSite,
    HealthProbe,
    Plan,
    PutFile,
    ReloadService,
    RemoveNginxSite,
    RemovePath,
    SiteContext,
    SiteType,
    hookimpl,
    remove_site_logs,
    server_block_common,
)

#: the text the default index page shows, and so what the health probe looks for
DEFAULT_PAGE_TEXT = "served by CHOM"
#: the suspended page lives in the web root under a dot-name the normal block never serves
SUSPENDED_PAGE = ".chom-suspended.html"


def default_index(domain: str) -> str:
    """The page a new site shows until its owner uploads content."""
    name = escape(domain)
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        f'<head><meta charset="utf-8"><title>{name}</title></head>\n'
        f"<body>\n<h1>{name}</h1>\n<p>This site is {DEFAULT_PAGE_TEXT}.</p>\n</body>\n"
        "</html>\n"
    )


def suspended_page(domain: str) -> str:
    """The page a suspended site answers with (status 503)."""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        '<head><meta charset="utf-8"><title>Site suspended</title></head>\n'
        "<body>\n<h1>This site is suspended</h1>\n"
        f"<p>{escape(domain)} is not available at the moment.</p>\n</body>\n"
        "</html>\n"
    )


def nginx_site(site: SiteContext) -> str:
    """The server block that serves the web root as static files."""
    return (
        "server {\n"
        "    listen 80;\n"
        f"    server_name {site.domain};\n"
        f"{server_block_common(site)}"
        f"    root {site.paths.web_root};\n"
        "    index index.html;\n"
        "\n"
        # Dot-files (the suspended page, editor leftovers) are never served.
        "    location ~ /\\.(?!well-known/) {\n"
        "        deny all;\n"
        "    }\n"
        "\n"
        "    location / {\n"
        "        try_files $uri $uri/ =404;\n"
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


class HtmlSiteType(SiteType):
    """Static files served by nginx from the site's web root; no PHP, no database.

    Option `index_html` is the content of `index.html`; without it the site shows a default
    page naming the domain. Re-applying the provision plan rewrites `index.html`.
    """

    name = "html"
    label = "Static HTML"
    uses_php = False
    needs_database = False
    accepts_content = True
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "index_html": {
                "type": "string",
                # JSON Schema counts characters, not bytes: 1 Mi characters.
                "maxLength": 1_048_576,
                "description": "Content of index.html; a default page when absent.",
            },
        },
    }

    def provision_plan(self, site: SiteContext) -> Plan:
        web_root = site.paths.web_root
        # An explicit page is the site's content; the default page must not overwrite an
        # uploaded index.html when the plan is applied again.
        index = (PutFile(f"{web_root}/index.html", site.options["index_html"])
                 if "index_html" in site.options
                 else PutFile(f"{web_root}/index.html", default_index(site.domain), replace=False))
        return Plan(
            "provision",
            (
                EnsureDirectory(web_root),
                index,
                EnsureNginxSite(site.paths.nginx_site_name, nginx_site(site)),
                ReloadService("nginx"),
            ),
        )

    def deprovision_plan(self, site: SiteContext) -> Plan:
        return Plan(
            "deprovision",
            (
                RemoveNginxSite(site.paths.nginx_site_name),
                ReloadService("nginx"),
                RemovePath(site.paths.web_root),
                *remove_site_logs(site),
            ),
        )

    def suspend_plan(self, site: SiteContext) -> Plan:
        return Plan(
            "suspend",
            (
                PutFile(f"{site.paths.web_root}/{SUSPENDED_PAGE}", suspended_page(site.domain)),
                EnsureNginxSite(site.paths.nginx_site_name, suspended_nginx_site(site)),
                ReloadService("nginx"),
            ),
        )

    def resume_plan(self, site: SiteContext) -> Plan:
        return Plan(
            "resume",
            (
                EnsureNginxSite(site.paths.nginx_site_name, nginx_site(site)),
                ReloadService("nginx"),
                RemovePath(f"{site.paths.web_root}/{SUSPENDED_PAGE}"),
            ),
        )

    def health_probe(self, site: SiteContext) -> HealthProbe:
        # A page the owner wrote may say anything: then only the status tells.
        if "index_html" in site.options:
            return HealthProbe(path="/")
        return HealthProbe(path="/", expect_text=DEFAULT_PAGE_TEXT)


@hookimpl
def chom_register_site_types() -> list[SiteType]:
    """Provide the `html` site type."""
    return [HtmlSiteType()]
