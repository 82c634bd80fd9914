"""The text files a Laravel site needs: nginx blocks, php-fpm pool, .env, the starter app."""

from __future__ import annotations

import base64
import hashlib
import hmac
from html import escape

from chom.plugin_api import SiteContext, server_block_common

#: the suspended page lives in the web root, outside `public/`, so the normal block never serves it
SUSPENDED_PAGE = ".chom-suspended.html"
#: Debian's php-laravel-framework (Laravel 8) loads its classes from here
DEBIAN_AUTOLOADER = "/usr/share/php/Illuminate/autoload.php"
#: what the starter app's home page says, and so what the health probe looks for
STARTER_TEXT = "Hello from Laravel"


def app_key(site_id: str, secret: str) -> str:
    """APP_KEY: 32 bytes derived from the site's secret, so a re-applied plan converges."""
    digest = hmac.new(secret.encode(), f"chom-laravel:{site_id}:APP_KEY".encode(), hashlib.sha256)
    return "base64:" + base64.b64encode(digest.digest()).decode("ascii")


def dotenv_string(value: str) -> str:
    """`value` double-quoted for phpdotenv, which expands `${...}` inside double quotes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def dotenv(site: SiteContext, database_password: str) -> str:
    """The app's .env: production mode, its key, and its database."""
    paths = site.paths
    return (
        "# Written by CHOM on every provision: change settings through CHOM, not here.\n"
        "APP_NAME=Laravel\n"
        "APP_ENV=production\n"
        f"APP_KEY={app_key(site.id, database_password)}\n"
        "APP_DEBUG=false\n"
        f"APP_URL=http://{site.domain}\n"
        "LOG_CHANNEL=stack\n"
        "DB_CONNECTION=mysql\n"
        "DB_HOST=localhost\n"
        "DB_PORT=3306\n"
        f"DB_DATABASE={paths.database_name}\n"
        f"DB_USERNAME={paths.database_user}\n"
        f"DB_PASSWORD={dotenv_string(database_password)}\n"
    )


def nginx_site(site: SiteContext) -> str:
    """The server block: `public/` as the document root, everything else to index.php."""
    return (
        "server {\n"
        "    listen 80;\n"
        f"    server_name {site.domain};\n"
        f"{server_block_common(site)}"
        f"    root {site.paths.web_root}/public;\n"
        "    index index.php;\n"
        "    client_max_body_size 64m;\n"
        "\n"
        "    location ~ /\\.(?!well-known/) {\n"
        "        deny all;\n"
        "    }\n"
        "\n"
        "    location / {\n"
        "        try_files $uri $uri/ /index.php?$query_string;\n"
        "    }\n"
        "\n"
        "    location ~ \\.php$ {\n"
        "        try_files $uri =404;\n"
        "        include /etc/nginx/fastcgi_params;\n"
        "        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;\n"
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


# --- The starter app: what a site without a git repository runs --------------------------------

_INDEX = """<?php
define('LARAVEL_START', microtime(true));
$app = require __DIR__ . '/../bootstrap/app.php';
$kernel = $app->make(Illuminate\\Contracts\\Http\\Kernel::class);
$response = $kernel->handle($request = Illuminate\\Http\\Request::capture());
$response->send();
$kernel->terminate($request, $response);
"""

_BOOTSTRAP = f"""<?php
// Laravel from Debian's php-laravel-framework; the app's own classes load from app/.
require '{DEBIAN_AUTOLOADER}';
spl_autoload_register(function (string $class): void {{
    if (strncmp($class, 'App\\\\', 4) === 0) {{
        $file = __DIR__ . '/../app/' . str_replace('\\\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) {{
            require $file;
        }}
    }}
}});
$app = new Illuminate\\Foundation\\Application(dirname(__DIR__));
$app->singleton(Illuminate\\Contracts\\Http\\Kernel::class, App\\Http\\Kernel::class);
$app->singleton(
    Illuminate\\Contracts\\Console\\Kernel::class,
    Illuminate\\Foundation\\Console\\Kernel::class
);
$app->singleton(
    Illuminate\\Contracts\\Debug\\ExceptionHandler::class,
    Illuminate\\Foundation\\Exceptions\\Handler::class
);
return $app;
"""

_CONFIG_APP = """<?php
use Illuminate\\Support\\Env;

return [
    'name' => Env::get('APP_NAME', 'Laravel'),
    'env' => Env::get('APP_ENV', 'production'),
    'debug' => (bool) Env::get('APP_DEBUG', false),
    'url' => Env::get('APP_URL', 'http://localhost'),
    'timezone' => 'UTC',
    'locale' => 'en',
    'key' => Env::get('APP_KEY'),
    'cipher' => 'AES-256-CBC',
    'providers' => [
        App\\Providers\\AppServiceProvider::class,
    ],
    'aliases' => [],
];
"""

_HTTP_KERNEL = """<?php
namespace App\\Http;

use Illuminate\\Foundation\\Http\\Kernel as HttpKernel;

class Kernel extends HttpKernel
{
}
"""

_PROVIDER = f"""<?php
namespace App\\Providers;

use Illuminate\\Foundation\\Application;
use Illuminate\\Support\\Facades\\Route;
use Illuminate\\Support\\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{{
    public function boot(): void
    {{
        Route::get('/', function () {{
            return '{STARTER_TEXT} ' . Application::VERSION;
        }});
    }}
}}
"""

#: the starter app's files, relative to the web root
STARTER_FILES = {
    "public/index.php": _INDEX,
    "bootstrap/app.php": _BOOTSTRAP,
    "config/app.php": _CONFIG_APP,
    "app/Http/Kernel.php": _HTTP_KERNEL,
    "app/Providers/AppServiceProvider.php": _PROVIDER,
}
#: its directories, parents first
STARTER_DIRECTORIES = ("app", "app/Http", "app/Providers", "bootstrap", "config", "public")
#: what Laravel writes to at run time (owned by the site's user, not served)
WRITABLE_DIRECTORIES = (
    "storage",
    "storage/app",
    "storage/framework",
    "storage/framework/cache",
    "storage/framework/sessions",
    "storage/framework/views",
    "storage/logs",
    "bootstrap/cache",
)
