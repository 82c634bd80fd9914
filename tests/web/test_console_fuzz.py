"""Generated requests to every console page and form, as a logged-in owner: whatever the
fields, the query or the path, the console never answers 500.

The console has no schema to generate from, so the field names are those its forms and pages
read (plus options of each site type), each given text, numbers, blanks, long or odd values.
As for the API's (`tests/api/test_schema_fuzz.py`), the requests go to an app whose jobs are
never run (`tests/fuzzing.py`), and path parameters name the owner's real rows half of the
time."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.web.console import log_in

EXAMPLES_PER_ROUTE = 25
FIELDS = [
    "abilities", "alertname", "billing", "comment", "confirm", "dedicated", "domain", "email",
    "enabled", "events", "expires_in_days", "host", "host_key", "kind", "minutes", "mode",
    "name", "otp", "page", "password", "php_version", "plan", "private_key_pem", "q", "range",
    "require_two_factor", "role", "scope", "since", "ssh_user", "target", "tenant", "tenant_id",
    "tenant_ids", "token", "type", "until", "action", "status",
    "options.html.index_html", "options.wordpress.site_title", "options.wordpress.admin_email",
    "options.laravel.git_url", "options.laravel.git_ref",
]
# Routes that would end the run's own session or its only rows, or make the rest refuse it.
SKIPPED = {"/logout", "/assets/<path:filename>", "/team/security", "/account/two-factor/enable",
           "/tenants/<tenant_id>/delete", "/sites/<site_id>/delete"}
PATH_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<choices>[^)]*)\))?:)?(?P<name>\w+)>")

# Also sent in every field at once, to every route: a field that chokes on one is sure to meet it.
ODD_VALUES = ["Acme\x00", "", "-1", "0" * 5000, "x" * 300, "on"]
values = st.one_of(
    st.text(max_size=40), st.integers(-10**12, 10**12).map(str), st.just(""),
    st.sampled_from(["on", "1", "true", "all", "owner", "viewer", "html", "laravel", "8.3",
                     "24h", "example.com", "a@b.co", "https://example.com/x", *ODD_VALUES]),
)
forms = st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)


def _path(rule: str, known: dict[str, str], draw) -> str:
    def fill(match):
        if match["converter"] == "any":
            return draw(st.sampled_from([c.strip(" '\"") for c in match["choices"].split(",")]))
        if match["name"] in known and draw(st.booleans()):
            return known[match["name"]]
        return draw(st.text(alphabet="abcdef0123456789-", min_size=1, max_size=36))

    return PATH_ARGUMENT.sub(fill, rule)


def _console_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("web.") and rule.rule not in SKIPPED:
            for method in sorted(rule.methods & {"GET", "POST"}):
                yield rule.rule, method


def _failure(answered, sent: str) -> str | None:
    if answered.status_code < 500 or answered.status_code == 503:
        return None
    return f"{sent}: {answered.status_code} {answered.get_data(as_text=True)[:300]}"


def _odd_everywhere(client, rule: str, method: str, known: dict[str, str]) -> str | None:
    """Each odd value in every field and query argument at once, on the real rows' paths."""
    path = PATH_ARGUMENT.sub(
        lambda m: m["choices"].split(",")[0].strip(" '\"") if m["converter"] == "any"
        else known.get(m["name"], "0"), rule)
    for value in ODD_VALUES:
        fields = dict.fromkeys(FIELDS, value)
        answered = client.open(path, method=method, query_string=fields,
                               data=fields if method == "POST" else None)
        if failure := _failure(answered, f"{method} {path}, every field {value[:20]!r}"):
            return failure
    return None


def _exercise(client, rule: str, method: str, known: dict[str, str]) -> str | None:
    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        path = _path(rule, known, data.draw)
        query, form = data.draw(forms), data.draw(forms)
        answered = client.open(path, method=method, query_string=query,
                               data=form if method == "POST" else None)
        failure = _failure(answered, f"{method} {path} query {query} form {form}")
        assert failure is None, failure

    try:
        run()
    except Exception as failure:
        return str(failure)[:2000]
    return None


def test_no_generated_console_request_fails(unworked_app, fuzz_owner, known_ids):
    client = unworked_app.test_client()
    log_in(client, fuzz_owner.email)
    routes = list(_console_rules(unworked_app))
    assert len(routes) > 40
    failures = {f"{method} {rule}": failure for rule, method in routes
                if (failure := _odd_everywhere(client, rule, method, known_ids)
                    or _exercise(client, rule, method, known_ids))}
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())
    assert client.get("/dashboard").status_code == 200  # still logged in: the run tested pages
