#!/usr/bin/env python3
"""JOSE validators on live tokens: jwcrypto, PyJWT and joserfc judge what a running Lamba issues.

For every ID token signing algorithm Lamba advertises
(`id_token_signing_alg_values_supported`), a client is registered with that
`id_token_signed_response_alg` (RFC 7591 / OIDC Registration §2), the user
signs in, and the ID token and the access token are verified by each library
against the live JWKS (signature, kid, iss, aud, exp, typ; at_hash with the
hash of the ID token's alg; nonce). Each library must then reject the same
tokens once altered: payload changed, one signature bit flipped, header alg
swapped. The client_credentials access token is judged the same way.

The access token's algorithm is an environment setting (default ES256); it is
switched only through the console API, so this suite covers the algorithm the
environment is configured with and says which one it was.

Usage: live_jose.py --demo DEMO.json
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))
warnings.filterwarnings("ignore", message=".*EdDSA.*")

import jwt as pyjwt  # noqa: E402
from joserfc import jwt as rfc_jwt  # noqa: E402
from joserfc.jwk import KeySet as RfcKeySet  # noqa: E402
from jwcrypto import jwk as jc_jwk  # noqa: E402
from jwcrypto import jwt as jc_jwt  # noqa: E402

from lambaconf import (  # noqa: E402
    HTTP, Browser, CheckFailed, Suite, authorize_url, b64u, b64u_decode, discovery, expect, expect_json, half_hash,
    load_console, load_demo, pkce_pair, register_client, suite_arguments,
)

SUITE = "tokens"
# A swap target within the same key family where one exists, so refusal must come from the signature.
SWAP = {"RS256": "PS256", "PS256": "RS256", "ES256": "EdDSA", "EdDSA": "ES256"}
LEEWAY = 5


def jwcrypto_verify(jwks: dict, algs: list[str], iss: str, aud: str, typ: str):
    keyset = jc_jwk.JWKSet.from_json(json.dumps(jwks))

    def verify(token: str) -> dict:
        t = jc_jwt.JWT(jwt=token, key=keyset, algs=algs, expected_type="JWS", check_claims={"iss": iss, "aud": aud, "exp": None})
        header = json.loads(t.header)
        if header.get("typ") != typ:
            raise ValueError(f"typ {header.get('typ')!r}, want {typ!r}")
        return json.loads(t.claims)
    return verify


def pyjwt_verify(jwks: dict, algs: list[str], iss: str, aud: str, typ: str):
    keyset = pyjwt.PyJWKSet.from_dict(jwks)

    def verify(token: str) -> dict:
        header = pyjwt.get_unverified_header(token)
        claims = pyjwt.decode(token, keyset[header["kid"]], algorithms=algs, audience=aud, issuer=iss, leeway=LEEWAY,
                              options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        if header.get("typ") != typ:
            raise ValueError(f"typ {header.get('typ')!r}, want {typ!r}")
        return claims
    return verify


def joserfc_verify(jwks: dict, algs: list[str], iss: str, aud: str, typ: str):
    keyset = RfcKeySet.import_key_set(jwks)
    registry = rfc_jwt.JWTClaimsRegistry(leeway=LEEWAY, iss={"essential": True, "value": iss}, aud={"essential": True, "value": aud},
                                         exp={"essential": True})

    def verify(token: str) -> dict:
        decoded = rfc_jwt.decode(token, keyset, algorithms=algs)
        registry.validate(decoded.claims)
        if decoded.header.get("typ") != typ:
            raise ValueError(f"typ {decoded.header.get('typ')!r}, want {typ!r}")
        return dict(decoded.claims)
    return verify


LIBRARIES = {"jwcrypto": jwcrypto_verify, "pyjwt": pyjwt_verify, "joserfc": joserfc_verify}


def tamper_payload(token: str) -> str:
    h, p, s = token.split(".")
    claims = json.loads(b64u_decode(p))
    claims["sub"] = "mallory"
    return ".".join([h, b64u(json.dumps(claims, separators=(",", ":")).encode()), s])


def tamper_signature(token: str) -> str:
    h, p, s = token.split(".")
    sig = bytearray(b64u_decode(s))
    sig[len(sig) // 2] ^= 0x01
    return ".".join([h, p, b64u(bytes(sig))])


def tamper_alg(token: str) -> str:
    h, p, s = token.split(".")
    header = json.loads(b64u_decode(h))
    header["alg"] = SWAP.get(header["alg"], "RS256")
    return ".".join([b64u(json.dumps(header, separators=(",", ":")).encode()), p, s])


def header_of(token: str) -> dict:
    return json.loads(b64u_decode(token.split(".")[0]))


def main() -> int:
    args = suite_arguments(__doc__)
    demo = load_demo(args.demo)
    suite = Suite(SUITE)
    http = HTTP(suite)
    meta = suite.step("discovery", lambda: discovery(demo, http))
    if meta is None:
        return suite.finish()
    algs = list(meta.get("id_token_signing_alg_values_supported", []))
    verify_algs = sorted(set(algs) | {"ES256", "RS256"})
    browser = Browser(demo, suite)  # one person: signs in once, then consents to each new client

    def fetch_jwks() -> dict:
        response = http.get(meta["jwks_uri"])
        expect(response.status_code == 200, "JWKS did not answer 200", response)
        return expect_json(response)

    def judge(label: str, token: str, typ: str, aud: str, extra_check=None):
        """Each library accepts the token, then rejects three alterations of it."""
        header = header_of(token)
        jwks = fetch_jwks()

        def header_step():
            kid = header.get("kid")
            expect(kid, f"no kid in the header: {header}")
            matches = [k for k in jwks.get("keys", []) if k.get("kid") == kid]
            expect(len(matches) == 1, f"kid {kid!r} is not (exactly once) in the JWKS")
            key = matches[0]
            family = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}.get(header.get("alg"))
            expect(key.get("kty") == family, f"alg {header.get('alg')} signed with a {key.get('kty')} key")
            if "alg" in key:
                expect(key["alg"] == header["alg"], f"JWKS key alg {key['alg']} differs from the token's {header['alg']}")
            expect(header.get("typ") == typ, f"typ {header.get('typ')!r}, want {typ!r}")

        suite.step(f"{label}/header (kid in JWKS, key type, typ {typ})", header_step)
        for name, make in LIBRARIES.items():
            verify = make(jwks, verify_algs, demo.issuer, aud, typ)

            def accept(verify=verify):
                claims = verify(token)
                if extra_check:
                    extra_check(claims, header)

            suite.step(f"{label}/{name} verifies", accept)
            for tamper_name, tamper in (("payload", tamper_payload), ("signature", tamper_signature), ("alg", tamper_alg)):
                def reject(verify=verify, tamper=tamper):
                    altered = tamper(token)
                    try:
                        got = verify(altered)
                    except Exception:
                        return
                    raise CheckFailed(f"accepted a token with altered {tamper_name} (claims {got})")

                suite.step(f"{label}/{name} rejects altered {tamper_name}", reject)

    def access_claims(client_id: str, user: bool):
        def check(claims: dict, header: dict):
            for name in ("iss", "sub", "aud", "client_id", "exp", "iat", "jti"):
                expect(name in claims, f"access token lacks {name} (RFC 9068 §2.2): {claims}")
            expect(claims["client_id"] == client_id, f"client_id {claims['client_id']!r}")
            expect(claims["exp"] > time.time() - LEEWAY, "expired at issue")
            expect(not ({"roles", "permissions", "groups"} & set(claims)), f"roles or permissions in the token (DESIGN: none): {claims}")
            if user:
                expect("sid" in claims, "a user access token lacks sid (its runtime scope)")
        return check

    for alg in algs:
        def per_alg(alg=alg):
            def register():
                return register_client(demo, {"client_name": f"tokens {alg}", "redirect_uris": [demo.redirect_uri],
                                              "token_endpoint_auth_method": "client_secret_basic", "id_token_signed_response_alg": alg,
                                              "grant_types": ["authorization_code", "refresh_token"]}, http)

            client = suite.step(f"{alg}/register id_token_signed_response_alg={alg}", register, required=True)
            expect_alg = client.get("id_token_signed_response_alg")

            def echoed():
                expect(expect_alg == alg, f"registration answered id_token_signed_response_alg={expect_alg!r}")

            suite.step(f"{alg}/registration echoes the algorithm", echoed)
            verifier, challenge = pkce_pair()
            nonce = secrets.token_urlsafe(12)
            state = secrets.token_urlsafe(8)
            url = authorize_url(meta["authorization_endpoint"], response_type="code", client_id=client["client_id"],
                                redirect_uri=demo.redirect_uri, scope="openid email profile", state=state, nonce=nonce,
                                code_challenge=challenge, code_challenge_method="S256")

            def tokens():
                landing = browser.authorize(url)
                expect("code" in landing.params, f"no code: {landing.params}")
                response = http.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": landing.params["code"],
                                                                   "redirect_uri": demo.redirect_uri, "code_verifier": verifier},
                                     auth=(client["client_id"], client["client_secret"]))
                expect(response.status_code == 200, "token request failed", response)
                return expect_json(response)

            answer = suite.step(f"{alg}/sign in and exchange the code", tokens, required=True)
            id_token, access_token = answer["id_token"], answer["access_token"]

            def id_alg():
                expect(header_of(id_token).get("alg") == alg, f"the ID token is signed with {header_of(id_token).get('alg')}, "
                                                              f"the client registered {alg} (OIDC Registration §2)")

            suite.step(f"{alg}/ID token signed with the registered alg", id_alg)

            def id_claims(claims: dict, header: dict):
                expect(claims.get("nonce") == nonce, "nonce (OIDC Core §3.1.3.7)")
                expect(claims.get("at_hash") == half_hash(access_token, header["alg"]),
                       f"at_hash {claims.get('at_hash')!r} is not the left half of {header['alg']}'s hash of the access token "
                       f"(OIDC Core §3.1.3.6)")
                expect(claims.get("azp") in (None, client["client_id"]), "azp")
                expect(isinstance(claims.get("iat"), int) and claims["exp"] > claims["iat"], f"exp must follow iat: {claims}")
                expect(claims.get("auth_time") is None or claims["auth_time"] <= claims["iat"] + LEEWAY,
                       f"auth_time after iat: {claims}")

            judge(f"{alg}/id_token", id_token, "JWT", client["client_id"], id_claims)
            at_alg = header_of(access_token).get("alg")
            judge(f"{alg}/access_token ({at_alg})", access_token, "at+jwt", client["client_id"], access_claims(client["client_id"], True))

        suite.flow(alg, per_alg)

    def machine():
        cc = demo.confidential
        response = http.post(meta["token_endpoint"], data={"grant_type": "client_credentials"}, auth=(cc["client_id"], cc["client_secret"]))
        expect(response.status_code == 200, "client_credentials failed", response)
        return expect_json(response)["access_token"]

    token = suite.step("client_credentials/token", machine)
    if token:
        cc_id = demo.confidential["client_id"]
        judge(f"client_credentials/access_token ({header_of(token).get('alg')})", token, "at+jwt", cc_id, access_claims(cc_id, False))

    # Access tokens for every algorithm: switched through the console API (environment setting).
    console = load_console(args.console, demo, suite)
    if console is None:
        print(f"     {SUITE}: access-token algorithms other than the environment's not covered (no --console)", flush=True)
        return suite.finish()
    project_id, environment = demo.raw["project_id"], demo.raw.get("environment", "sandbox")
    original = suite.step("access token algorithms/read the environment", lambda: console.environment(project_id, environment))
    if original is None:
        return suite.finish()
    cc = demo.confidential
    try:
        for alg in algs:
            def per_access_alg(alg=alg):
                def switch():
                    changed = console.set_access_token_algorithm(project_id, environment, alg)
                    expect(changed.get("access_token_algorithm") == alg, f"the environment answered {changed}")

                suite.step(f"access_token {alg}/switch the environment's access_token_algorithm", switch, required=True)

                def user_token():
                    verifier, challenge = pkce_pair()
                    landing = browser.authorize(authorize_url(meta["authorization_endpoint"], response_type="code", client_id=cc["client_id"],
                                                              redirect_uri=demo.redirect_uri, scope="openid email", state="s",
                                                              code_challenge=challenge, code_challenge_method="S256"))
                    response = http.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": landing.params.get("code"),
                                                                       "redirect_uri": demo.redirect_uri, "code_verifier": verifier},
                                         auth=(cc["client_id"], cc["client_secret"]))
                    expect(response.status_code == 200, "token request failed", response)
                    token = expect_json(response)["access_token"]
                    expect(header_of(token).get("alg") == alg, f"the access token is signed with {header_of(token).get('alg')}, "
                                                               f"the environment says {alg}")
                    return token

                token = suite.step(f"access_token {alg}/user token signed with {alg}", user_token, required=True)
                judge(f"access_token {alg}/user", token, "at+jwt", cc["client_id"], access_claims(cc["client_id"], True))

                def usable():
                    response = http.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token})
                    expect(response.status_code == 200, f"Lamba's own userinfo refused its {alg} access token", response)

                suite.step(f"access_token {alg}/userinfo accepts it", usable)
                machine_token = suite.step(f"access_token {alg}/client_credentials token", machine, required=True)
                expect_alg = header_of(machine_token).get("alg")
                suite.step(f"access_token {alg}/client_credentials signed with {alg}",
                           lambda: expect(expect_alg == alg, f"signed with {expect_alg}"))
                judge(f"access_token {alg}/client", machine_token, "at+jwt", cc["client_id"], access_claims(cc["client_id"], False))

            suite.flow(f"access_token {alg}", per_access_alg)
    finally:
        suite.step("access token algorithms/restore the environment",
                   lambda: console.set_access_token_algorithm(project_id, environment, original["access_token_algorithm"]))
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
