"""Two `lamba serve` processes on one PostgreSQL database: what one does, the other honours at once.

Both processes share the database, the master key and the public URL (as N processes behind a load
balancer do); this suite talks to each one at its own address (`--url-a`, `--url-b`). It proves:

- a token minted through A is accepted by B (userinfo, introspection, refresh);
- a client created, its secret rotated or deleted through A's console API is honoured by B's token
  endpoint on the very next request (B's client cache is retired by PostgreSQL NOTIFY);
- a signing key rotation (`lamba keys rotate`, a third process) publishes next keys that neither
  signs with until promoted, both publish them, and tokens signed by either verify against the
  other's JWKS;
- a revocation (RFC 7009 at A; a runtime scope revoked through A's console) holds at B at once;
- the same refresh token fired at A and B concurrently, many rounds: exactly one winner, the loser
  is `invalid_grant`, and reuse detection revokes the family (the winner's successor is dead);
- the sign-in throttle counts failures made on both processes;
- dynamic registration's per-address limit holds across both (fired concurrently at both);
- a `private_key_jwt` assertion (RFC 7523 §3 jti replay cache) accepted by one is refused by the
  other, also when both get it at once.

DPoP (RFC 9449) `jti` and PAR (RFC 9126) `request_uri` replay caches do not exist in Lamba yet:
nothing of them is tested here (the suite prints a note).

Usage: two_processes.py --demo demo.json --console console.json --url-a URL --url-b URL
                        --lamba BIN --database URL [--rounds N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from lambaconf import (HTTP, Browser, Console, Suite, authorize_url, expect, expect_error, expect_json,  # noqa: E402
                       jwt_parts, load_demo, pkce_pair, b64u, parse_forms)

import jwt as pyjwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", required=True)
    parser.add_argument("--console", required=True, help="`lamba bootstrap --json` of the demo Workspace")
    parser.add_argument("--url-a", required=True, help="where process A listens")
    parser.add_argument("--url-b", required=True, help="where process B listens")
    parser.add_argument("--lamba", required=True, help="the lamba binary (for `lamba keys rotate`)")
    parser.add_argument("--database", required=True, help="the shared database URL")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("LAMBA_MULTIPROCESS_ROUNDS", "20")))
    return parser.parse_args()


args = arguments()
demo = load_demo(args.demo)
suite = Suite("multiprocess")
A = args.url_a.rstrip("/")
B = args.url_b.rstrip("/")
PUBLIC = demo.base_url
with open(args.console, encoding="utf-8") as handle:
    api_key = json.load(handle)["api_key"]
console_a = Console(A, api_key, suite)
http = HTTP(suite)
project_id = demo.raw["project_id"]
environment = demo.raw.get("environment", "sandbox")
slug = urllib.parse.urlsplit(demo.issuer).path.split("/")[2]
env_path = f"/projects/{project_id}/environments/{environment}"


def at(server: str, issuer_url: str) -> str:
    """An issuer URL (built from the shared public URL) as served by one process."""
    expect(issuer_url.startswith(PUBLIC), f"{issuer_url} is not under the public URL {PUBLIC}")
    return server + issuer_url[len(PUBLIC):]


meta = expect_json(http.get(at(A, demo.issuer + "/.well-known/openid-configuration")))
TOKEN = meta["token_endpoint"]
USERINFO = meta["userinfo_endpoint"]
INTROSPECT = meta["introspection_endpoint"]
REVOKE = meta["revocation_endpoint"]
JWKS = meta["jwks_uri"]
REGISTER = meta.get("registration_endpoint")
conf = (demo.confidential["client_id"], demo.confidential["client_secret"])


def sign_in(server: str) -> dict:
    """Authorization code + PKCE for the confidential demo client, browser and token call on `server`."""
    browser = Browser(demo, suite, server_url=server)
    verifier, challenge = pkce_pair()
    landing = browser.authorize(authorize_url(meta["authorization_endpoint"], response_type="code",
                                              client_id=conf[0], redirect_uri=demo.redirect_uri,
                                              scope="openid offline_access", state=b64u(os.urandom(8)),
                                              nonce=b64u(os.urandom(8)), code_challenge=challenge,
                                              code_challenge_method="S256"))
    code = landing.params.get("code")
    expect(code is not None, f"no code at the redirect URI: {landing.params}")
    response = http.post(at(server, TOKEN), auth=conf, data={"grant_type": "authorization_code", "code": code,
                                                              "redirect_uri": demo.redirect_uri, "code_verifier": verifier})
    expect(response.status_code == 200, "the code exchange did not answer 200", response)
    tokens = expect_json(response)
    expect("refresh_token" in tokens, "no refresh token (offline_access)", response)
    return tokens


def userinfo(server: str, access_token: str):
    return http.get(at(server, USERINFO), headers={"Authorization": "Bearer " + access_token})


def introspect(server: str, token: str) -> dict:
    response = http.post(at(server, INTROSPECT), auth=conf, data={"token": token})
    expect(response.status_code == 200, "introspection did not answer 200 (RFC 7662 §2.2)", response)
    return expect_json(response)


def refresh(server: str, refresh_token: str, session=None):
    return (session or http).post(at(server, TOKEN), auth=conf, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                                  timeout=30)


def client_credentials(server: str, client_id: str, secret: str):
    return http.post(at(server, TOKEN), auth=(client_id, secret), data={"grant_type": "client_credentials"})


# ---------------------------------------------------------------------------
# Tokens

def tokens_flow() -> None:
    tokens = suite.step("a user signs in through A (code + PKCE)", lambda: sign_in(A), required=True)

    def userinfo_b():
        response = userinfo(B, tokens["access_token"])
        expect(response.status_code == 200, "B refused A's access token at userinfo", response)
    suite.step("B's userinfo accepts the access token A issued", userinfo_b)
    suite.step("B's introspection says A's access token is active",
               lambda: expect(introspect(B, tokens["access_token"]).get("active") is True, "inactive at B"))

    def refresh_b():
        response = refresh(B, tokens["refresh_token"])
        expect(response.status_code == 200, "B refused A's refresh token", response)
        return expect_json(response)
    rotated = suite.step("B rotates the refresh token A issued", refresh_b, required=True)

    def old_at_a():
        response = refresh(A, tokens["refresh_token"])
        expect_error(response, 400, "invalid_grant", "RFC 6749 §6 / Security BCP §4.14.2: a rotated refresh token is spent")
    suite.step("A refuses the refresh token B rotated (reuse)", old_at_a)

    def family_dead():
        response = refresh(A, rotated["refresh_token"])
        expect_error(response, 400, "invalid_grant", "reuse detection revokes the whole family (Security BCP §4.14.2)")
        response = userinfo(B, rotated["access_token"])
        expect(response.status_code == 401, "the family's access token still works at B after reuse detection", response)
    suite.step("reuse seen at A revoked the family: its successor is dead at A, its access token at B", family_dead)


suite.flow("tokens", tokens_flow)


def stale_for(since: float, still_stale) -> str:
    """How long B kept answering from before A's change, measured by asking again until it stops (2 s at most)."""
    deadline = since + 2
    while time.monotonic() < deadline:
        if not still_stale():
            return f"B honoured it for {1000 * (time.monotonic() - since):.1f} ms after A's console answered"
        time.sleep(0.001)
    return "B still honoured it 2 s after A's console answered"


# ---------------------------------------------------------------------------
# Clients: created, rotated, deleted through A's console; B's token endpoint on the next request.

def clients_flow() -> None:
    rounds = max(5, args.rounds)
    for n in range(rounds):
        created = suite.step(f"round {n}: A's console creates a client", lambda: console_a.call("POST", env_path + "/clients", {
            "client_name": f"multiprocess {uuid.uuid4().hex[:8]}", "client_type": "confidential",
            "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}, 201), required=True)
        cid, secret = created["client_id"], created["client_secret"]
        if n == 0:
            # Warm B's client cache with this client, so that the rotation below must retire an entry.
            pass

        def new_client_b():
            response = client_credentials(B, cid, secret)
            expect(response.status_code == 200, "B does not know the client A created a moment ago", response)
        suite.step(f"round {n}: B's token endpoint accepts it at once", new_client_b)
        rotated_at = [0.0]

        def rotate():
            answer = console_a.call("POST", f"{env_path}/clients/{cid}/rotate-secret", None, 200)
            rotated_at[0] = time.monotonic()
            return answer
        rotated = suite.step(f"round {n}: A's console rotates its secret", rotate, required=True)

        def old_secret_b():
            response = client_credentials(B, cid, secret)
            if response.status_code == 200:
                expect(False, "RFC 6749 §5.2: the replaced secret must fail at once; "
                       + stale_for(rotated_at[0], lambda: client_credentials(B, cid, secret).status_code == 200), response)
            expect_error(response, 401, "invalid_client", "RFC 6749 §5.2: the replaced secret must fail at once")
            response = client_credentials(B, cid, rotated["client_secret"])
            expect(response.status_code == 200, "B refuses the new secret", response)
        suite.step(f"round {n}: B refuses the old secret and accepts the new one at once", old_secret_b)
        deleted_at = [0.0]

        def delete():
            console_a.call("DELETE", f"{env_path}/clients/{cid}", None, 204)
            deleted_at[0] = time.monotonic()
        suite.step(f"round {n}: A's console deletes the client", delete)

        def deleted_b():
            response = client_credentials(B, cid, rotated["client_secret"])
            if response.status_code == 200:
                expect(False, "RFC 6749 §5.2: a deleted client is unknown, at once; "
                       + stale_for(deleted_at[0], lambda: client_credentials(B, cid, rotated["client_secret"]).status_code == 200),
                       response)
            expect_error(response, 401, "invalid_client", "RFC 6749 §5.2: a deleted client is unknown")
        suite.step(f"round {n}: B refuses the deleted client at once", deleted_b)


suite.flow("clients", clients_flow)


# ---------------------------------------------------------------------------
# Signing keys: `lamba keys rotate` (a third process) → both publish it; each verifies the other's tokens.

def keys_flow() -> None:
    def kids(server):
        response = http.get(at(server, JWKS))
        expect(response.status_code == 200, "JWKS did not answer 200", response)
        return {key["kid"] for key in expect_json(response)["keys"]}
    before_a = suite.step("A and B publish the same JWKS before the rotation",
                          lambda: (kids(A) == kids(B) or expect(False, f"A {kids(A)} != B {kids(B)}")) and kids(A), required=True)

    def run_rotate(*extra):
        out = subprocess.run([args.lamba, "keys", "rotate", "--project", slug, "--environment", environment,
                              "--database", args.database, *extra], capture_output=True, text=True, timeout=120)
        expect(out.returncode == 0, f"lamba keys rotate failed: {out.stderr.strip()[-400:]}")
        return json.loads(out.stdout)

    def stage():
        # The first rotation publishes next keys; none signs before JWKS caches (max-age) can hold it.
        result = run_rotate()
        expect(result["promoted_kids"] == [] and result["staged"], f"a key published just now was promoted: {result}")
        staged = {entry["kid"] for entry in result["staged"]}
        for server, name in ((A, "A"), (B, "B")):
            seen = kids(server)
            expect(staged <= seen, f"{name}'s JWKS lacks the staged next kids {staged - seen}")
        for server in (A, B):
            response = client_credentials(server, *conf)
            expect(response.status_code == 200, "client_credentials failed", response)
            kid = jwt_parts(expect_json(response)["access_token"])[0].get("kid")
            expect(kid not in staged, f"a token was signed with the staged key {kid} before JWKS caches could hold it")
    suite.step("`lamba keys rotate` (a third process) publishes next keys without signing with them", stage, required=True)

    def rotate():
        # --now: the emergency promotion, at once.
        result = run_rotate("--now")
        expect(result["promoted_kids"], f"nothing was promoted: {result}")
        return set(result["promoted_kids"])
    current = suite.step("`lamba keys rotate --now` promotes them at once", rotate, required=True)

    def published():
        for server, name in ((A, "A"), (B, "B")):
            seen = kids(server)
            expect(current <= seen, f"{name}'s JWKS lacks the new kids {current - seen} right after the rotation")
            expect(before_a <= seen, f"{name}'s JWKS dropped the old kids {before_a - seen} (old keys stay until their tokens expire)")
    suite.step("both publish the new keys at once, and keep the old ones", published)

    def signs_with_new():
        for server, other in ((A, B), (B, A)):
            response = client_credentials(server, *conf)
            expect(response.status_code == 200, "client_credentials failed", response)
            token = expect_json(response)["access_token"]
            kid = jwt_parts(token)[0].get("kid")
            expect(kid in current, f"a token minted right after the rotation is signed with {kid}, not one of {current}")
            state = introspect(other, token)
            expect(state.get("active") is True, "the other process does not accept a token signed with the new key")
    suite.step("tokens minted by A and by B right after are signed with a new key and verified by the other", signs_with_new)


suite.flow("keys", keys_flow)


# ---------------------------------------------------------------------------
# Revocation through A, honoured by B.

def revocation_flow() -> None:
    tokens = suite.step("a user signs in through B", lambda: sign_in(B), required=True)

    def revoke_at_a():
        response = http.post(at(A, REVOKE), auth=conf, data={"token": tokens["access_token"], "token_type_hint": "access_token"})
        expect(response.status_code == 200, "revocation did not answer 200 (RFC 7009 §2.2)", response)
        response = userinfo(B, tokens["access_token"])
        expect(response.status_code == 401, "B still honours the access token A revoked", response)
        expect(introspect(B, tokens["access_token"]).get("active") is False, "B's introspection: still active")
    suite.step("an access token revoked at A (RFC 7009) is refused by B at once", revoke_at_a)

    def revoke_refresh_at_a():
        response = http.post(at(A, REVOKE), auth=conf, data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
        expect(response.status_code == 200, "revocation did not answer 200", response)
        expect_error(refresh(B, tokens["refresh_token"]), 400, "invalid_grant", "RFC 7009 §2: a revoked refresh token is dead everywhere")
    suite.step("a refresh token revoked at A is refused by B at once", revoke_refresh_at_a)

    second = suite.step("the user signs in again through A", lambda: sign_in(A), required=True)
    # Make B hold the scope's state in its cache first: the revocation must retire it.
    suite.step("B answers userinfo with it (warms B's caches)",
               lambda: expect(userinfo(B, second["access_token"]).status_code == 200, "userinfo at B failed"))

    def revoke_scope():
        sid = jwt_parts(second["access_token"])[1]["sid"]
        console_a.call("DELETE", f"/projects/{project_id}/runtime-scopes/{sid}", None, (200, 204))
        response = userinfo(B, second["access_token"])
        expect(response.status_code == 401, "B still honours a token of the runtime scope A's console revoked", response)
        expect_error(refresh(B, second["refresh_token"]), 400, "invalid_grant", "docs/sessions-and-scopes.md: a revoked scope's refresh tokens die")
    suite.step("a runtime scope revoked through A's console kills its tokens at B at once", revoke_scope)


suite.flow("revocation", revocation_flow)


# ---------------------------------------------------------------------------
# The refresh race across processes.

def race_flow() -> None:
    winners = {"A": 0, "B": 0}
    for n in range(args.rounds):
        tokens = suite.step(f"race {n}: sign in", lambda: sign_in(A if n % 2 else B), required=True)
        token = tokens["refresh_token"]
        sessions = (HTTP(), HTTP())
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(refresh, server, token, session) for server, session in zip((A, B), sessions)]
            answers = [f.result() for f in futures]

        def judge():
            statuses = [r.status_code for r in answers]
            expect(sorted(statuses) == [200, 400], f"expected exactly one 200 and one 400 from A and B, got A={statuses[0]} B={statuses[1]}",
                   answers[0] if statuses[0] != 200 else answers[1])
            loser = answers[statuses.index(400)]
            expect_error(loser, 400, "invalid_grant", "RFC 6749 §5.2")
            winner = answers[statuses.index(200)]
            winners["A" if statuses[0] == 200 else "B"] += 1
            successor = expect_json(winner)["refresh_token"]
            # The loser presented a spent token: reuse detection revokes the family (Security BCP §4.14.2).
            expect_error(refresh(B if n % 2 else A, successor), 400, "invalid_grant",
                         "the race's loser is a reuse: the winner's successor must be revoked")
        suite.step(f"race {n}: exactly one winner, the loser invalid_grant, the family revoked", judge)
    print(f"     multiprocess/race: winners A={winners['A']} B={winners['B']} over {args.rounds} rounds", flush=True)


suite.flow("refresh race", race_flow)


# ---------------------------------------------------------------------------
# The sign-in throttle across processes (docs/limits.md#sign-in-throttle: 5 failures, then a lockout).

def throttle_flow() -> None:
    email = f"nobody-{uuid.uuid4().hex[:10]}@multiprocess.lamba.test"
    verifier, challenge = pkce_pair()
    url = authorize_url(meta["authorization_endpoint"], response_type="code", client_id=conf[0], redirect_uri=demo.redirect_uri,
                        scope="openid", state="s", code_challenge=challenge, code_challenge_method="S256")

    def attempt(server: str) -> str:
        browser = Browser(demo, suite, server_url=server)
        response = browser.http.get(browser._real(url), allow_redirects=False)
        hops = 0
        while response.status_code in (302, 303) and hops < 5:
            response = browser.http.get(browser._real(urllib.parse.urljoin(response.url, response.headers["Location"])), allow_redirects=False)
            hops += 1
        forms = parse_forms(response.text)
        expect(bool(forms), "no login form", response)
        form = forms[0]
        response = browser.http.post(browser._real(urllib.parse.urljoin(response.url, form.action)),
                                     data=list(form.fields) + [("email", email), ("password", "wrong-" + uuid.uuid4().hex)],
                                     allow_redirects=False)
        expect(response.status_code == 400, "a wrong password is not answered 400 with the form again", response)
        return response.text

    def four_failures():
        for n, server in enumerate((A, B, A, B)):
            text = attempt(server)
            expect("too many attempts" not in text, f"locked out after only {n + 1} failures")
    suite.step("four wrong passwords for one email, alternating A and B, are refused as wrong", four_failures)
    # The fifth failure within the window starts the lockout and is answered with it (docs/limits.md#sign-in-throttle).
    suite.step("the fifth, at A, starts the lockout: A counted B's failures",
               lambda: expect("too many attempts" in attempt(A), "A did not lock the email out after five failures over A and B"))
    suite.step("B refuses the next attempt as locked out too",
               lambda: expect("too many attempts" in attempt(B), "B did not see the lockout A started"))


suite.flow("sign-in throttle", throttle_flow)


# ---------------------------------------------------------------------------
# Dynamic registration's per-address limit across processes, on the production environment (which
# nothing else registers in), fired concurrently at both.

def registration_flow() -> None:
    limit = int(os.environ.get("LAMBA_REGISTRATIONS_PER_ADDRESS_PER_HOUR", "20"))
    prod_issuer = demo.other_environment_issuer()
    prod_env = "production" if environment == "sandbox" else "sandbox"
    suite.step("A's console enables loopback registration on the production environment",
               lambda: console_a.call("PATCH", f"/projects/{project_id}/environments/{prod_env}",
                                      {"dynamic_client_registration": "loopback_only"}, 200), required=True)
    prod_meta = expect_json(http.get(at(B, prod_issuer + "/.well-known/openid-configuration")))
    endpoint = prod_meta.get("registration_endpoint")
    expect(endpoint is not None, "B's production discovery lacks registration_endpoint right after A's console enabled it")

    def register(server):
        return HTTP().post(at(server, endpoint), json={"redirect_uris": ["http://127.0.0.1:9999/cb"], "client_name": "mp",
                                                        "token_endpoint_auth_method": "client_secret_basic"}, timeout=30)

    def burst():
        attempts = limit + 10
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(register, [A if i % 2 else B for i in range(attempts)]))
        created = sum(1 for r in answers if r.status_code == 201)
        refused = [r for r in answers if r.status_code != 201]
        expect(created == limit, f"{created} registrations succeeded over A and B for a limit of {limit} per address and hour")
        for r in refused:
            expect(r.status_code == 429 and r.headers.get("Retry-After", "").isdigit(),
                   "a registration past the limit is not 429 with Retry-After", r)
        for server in (A, B):
            r = register(server)
            expect(r.status_code == 429, "a process still registers past the shared limit", r)
        print(f"     multiprocess/registration: {created} created, {len(refused)} refused (429) of {attempts} fired at A and B", flush=True)
    suite.step(f"{limit} registrations per address and hour in total over A and B, then 429 with Retry-After from both", burst)
    suite.step("restore: production registration off",
               lambda: console_a.call("PATCH", f"/projects/{project_id}/environments/{prod_env}",
                                      {"dynamic_client_registration": "off"}, 200))


suite.flow("registration limit", registration_flow)


# ---------------------------------------------------------------------------
# The private_key_jwt assertion replay cache (RFC 7523 §3 jti) across processes.

def assertion_flow() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": "mp1", "alg": "RS256", "use": "sig",
           "n": b64u(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")), "e": b64u(numbers.e.to_bytes(3, "big"))}
    created = suite.step("A's console creates a private_key_jwt client", lambda: console_a.call("POST", env_path + "/clients", {
        "client_name": "multiprocess pkjwt", "client_type": "confidential", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": json.dumps({"keys": [jwk]})}, 201), required=True)
    cid = created["client_id"]

    def assertion() -> str:
        now = int(time.time())
        return pyjwt.encode({"iss": cid, "sub": cid, "aud": meta["token_endpoint"], "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60},
                            key, algorithm="RS256", headers={"kid": "mp1"})

    def present(server, value, session=None):
        return (session or http).post(at(server, TOKEN), data={
            "grant_type": "client_credentials", "client_id": cid,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": value}, timeout=30)

    def sequential():
        value = assertion()
        response = present(A, value)
        expect(response.status_code == 200, "A refused a fresh assertion", response)
        expect_error(present(B, value), 401, "invalid_client", "RFC 7523 §3: a replayed jti is refused, by every process")
    suite.step("an assertion used at A is refused as a replay at B", sequential)

    def concurrent_once():
        outcomes = []
        for _ in range(max(5, args.rounds // 2)):
            value = assertion()
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda s: present(s, value, HTTP()), (A, B)))
            statuses = sorted(r.status_code for r in answers)
            outcomes.append(statuses)
            expect(statuses == [200, 401], f"one assertion fired at A and B at once: expected one 200 and one 401, got {statuses}",
                   answers[0] if answers[0].status_code not in (200, 401) else answers[1])
    suite.step("one assertion fired at A and B at once is accepted exactly once", concurrent_once)


suite.flow("assertion replay", assertion_flow)

print("     multiprocess: DPoP (RFC 9449) jti and PAR (RFC 9126) request_uri replay caches do not exist in Lamba yet; not tested",
      flush=True)
sys.exit(suite.finish())
