"""Console sign-up: organization, first tenant and owner, then logged in."""


def test_signup_creates_the_account_and_logs_in(client):
    page = client.get("/signup").get_data(as_text=True)
    assert 'for="organization"' in page and 'for="password"' in page
    response = client.post("/signup", data={"organization": "New Agency", "name": "Nia",
                                            "email": "Nia@Agency.test",
                                            "password": "a long enough passphrase"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "New Agency" in dashboard
    login = client.post("/api/v1/auth/login", json={"email": "nia@agency.test",
                                                    "password": "a long enough passphrase"})
    assert login.status_code == 200 and login.json["data"]["user"]["role"] == "owner"


def test_signup_errors_are_inline_and_keep_what_was_typed(client, register):
    taken = register("Taken Co")
    weak = client.post("/signup", data={"organization": "Org", "name": "Al",
                                        "email": "al@org.test", "password": "short"})
    assert weak.status_code == 422
    text = weak.get_data(as_text=True)
    assert 'id="password-errors"><p class="field-error">' in text
    assert 'value="al@org.test"' in text and 'value="Org"' in text
    assert 'value="short"' not in text  # the password is never echoed back

    missing = client.post("/signup", data={"organization": "", "name": "", "email": "x",
                                           "password": "a long enough passphrase"})
    assert missing.status_code == 422 and missing.get_data(as_text=True).count(
        'class="field-error"') >= 3

    again = client.post("/signup", data={"organization": "Org", "name": "Al",
                                         "email": taken.email,
                                         "password": "a long enough passphrase"})
    assert again.status_code == 422 and "already exists" in again.get_data(as_text=True)
