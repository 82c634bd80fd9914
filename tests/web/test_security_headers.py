"""Security headers on every response; HTTPS enforced when configured."""

from chom import create_app
from tests.conftest import base_config


def test_console_and_api_responses_carry_the_security_headers(client):
    for path in ("/login", "/api/v1/health"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP here


def test_forced_https_redirects_and_sends_hsts(app, tmp_path):
    secure = create_app(base_config(tmp_path, CHOM_FORCE_HTTPS=True))
    client = secure.test_client()
    redirected = client.get("/login")
    assert redirected.status_code == 302
    assert redirected.headers["Location"].startswith("https://")
    over_tls = client.get("/login", base_url="https://localhost")
    assert over_tls.status_code == 200
    assert "max-age=" in over_tls.headers["Strict-Transport-Security"]


def test_console_pages_use_no_inline_styles_or_scripts(client):
    page = client.get("/login").get_data(as_text=True)
    assert "<style" not in page and 'style="' not in page
    assert "<script>" not in page
