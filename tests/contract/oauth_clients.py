"""Client credentials with the OAuth libraries municipal systems use, and no custom code:
authlib's OAuth2Session.fetch_token (client_secret_basic and client_secret_post) and
requests-oauthlib's BackendApplicationClient get a token that works, and a wrong secret raises the
library's own clear error (invalid_client), not a confusing one.

Usage: python oauth_clients.py BASE_URL ADMIN_USERNAME ADMIN_PASSWORD
"""

import os
import random
import sys
import uuid

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient, InvalidClientError
from requests_oauthlib import OAuth2Session


def main() -> None:
    base, admin_user, admin_password = sys.argv[1:4]
    api = f"{base}/api/v1"
    token_url = f"{api}/oauth/token"

    login = requests.post(f"{api}/auth/login", json={"username": admin_user, "password": admin_password}, timeout=30)
    login.raise_for_status()
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    municipality = None
    for code in random.sample(range(100, 1000), 30):
        r = requests.post(
            f"{api}/municipalities",
            json={"name": f"OAuth Kommune {code}", "code": str(code)},
            headers=admin,
            timeout=30,
        )
        if r.status_code == 201:
            municipality = r.json()["id"]
            break
        assert r.status_code == 409, r.text
    assert municipality, "no free municipality number"
    r = requests.post(
        f"{api}/service-accounts",
        json={"name": "Fagsystem", "scopes": ["candidates:read", "events:read"], "municipality_id": municipality},
        headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    client_id, client_secret = r.json()["client_id"], r.json()["client_secret"]

    def works(token: dict, what: str) -> None:
        assert token["token_type"] == "Bearer", (what, token)
        me = requests.get(f"{api}/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30)
        assert me.status_code == 200 and me.json()["role"] == "service", (what, me.text)
        print(f"{what}: token ok")

    # authlib, HTTP Basic (its default) and in the form.
    for method in ["client_secret_basic", "client_secret_post"]:
        session = AuthlibSession(client_id, client_secret, token_endpoint_auth_method=method)
        works(session.fetch_token(token_url, grant_type="client_credentials"), f"authlib {method}")
        wrong = AuthlibSession(client_id, "not-the-secret", token_endpoint_auth_method=method)
        try:
            wrong.fetch_token(token_url, grant_type="client_credentials")
            raise SystemExit(f"authlib {method}: a wrong secret got a token")
        except OAuthError as e:
            assert e.error == "invalid_client", e
            print(f"authlib {method}, wrong secret: {e.error}: {e.description}")
    session = AuthlibSession(client_id, client_secret, scope="candidates:read")
    token = session.fetch_token(token_url, grant_type="client_credentials")
    assert token["scope"] == "candidates:read", token
    try:
        AuthlibSession(client_id, client_secret, scope="reports:read").fetch_token(
            token_url, grant_type="client_credentials"
        )
        raise SystemExit("authlib: a scope the client does not hold was granted")
    except OAuthError as e:
        assert e.error == "invalid_scope", e

    # requests-oauthlib with oauthlib's BackendApplicationClient. oauthlib insists on https; this check
    # talks to a server on the loopback over plain HTTP (in production TLS is in front, README).
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    oauth = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
    works(oauth.fetch_token(token_url=token_url, client_id=client_id, client_secret=client_secret), "requests-oauthlib")
    try:
        OAuth2Session(client=BackendApplicationClient(client_id=client_id)).fetch_token(
            token_url=token_url, client_id=client_id, client_secret="not-the-secret"
        )
        raise SystemExit("requests-oauthlib: a wrong secret got a token")
    except InvalidClientError as e:
        print(f"requests-oauthlib, wrong secret: {e.error}: {e.description}")
    print("oauth clients: ok")


if __name__ == "__main__":
    main()
