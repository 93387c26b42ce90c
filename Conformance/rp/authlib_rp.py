#!/usr/bin/env python3
"""Relying-party suite with Authlib (OAuth2Session + its OIDC claim validators).

Proves that a relying party built on Authlib completes the whole dance with
Lamba over HTTP: discovery, authorization code + PKCE (confidential and public
clients, query and form_post response modes), ID token validation against the
JWKS (signature, iss, aud, exp, nonce, at_hash), userinfo, refresh with
rotation, revocation, introspection and client_credentials.

Usage: authlib_rp.py --demo DEMO.json   (prints PASS/FAIL per step, then N passed, N failed)
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # Lamba runs on http://127.0.0.1 in CI
warnings.filterwarnings("ignore", message=".*EdDSA.*")

from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oidc.core import CodeIDToken, UserInfo  # noqa: E402
from joserfc import jwt as rfc_jwt  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from joserfc.jws import JWSRegistry  # noqa: E402

from lambaconf import (  # noqa: E402
    TIMEOUT, Browser, CheckFailed, Suite, discovery, expect, expect_error, expect_json, jwt_parts, load_demo, suite_arguments,
)

SUITE = "authlib"
LEEWAY = 5


class TimedSession(OAuth2Session):
    """OAuth2Session with a timeout on every call (Authlib passes kwargs through to requests)."""

    def request(self, method, url, withhold_token=False, auth=None, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, withhold_token=withhold_token, auth=auth, **kwargs)


def validate_id_token(id_token: str, jwks: dict, metadata: dict, client_id: str, nonce: str, access_token: str) -> CodeIDToken:
    """What Authlib's OpenIDMixin.parse_id_token does: joserfc signature check, then CodeIDToken rules."""
    key_set = KeySet.import_key_set(jwks)
    token = rfc_jwt.decode(id_token, key=key_set,
                           registry=JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"], strict_check_header=False))
    claims = CodeIDToken(token.claims, token.header,
                         {"iss": {"essential": True, "value": metadata["issuer"]}, "aud": {"essential": True, "value": client_id},
                          "exp": {"essential": True}, "nonce": {"essential": True, "value": nonce}},
                         {"nonce": nonce, "client_id": client_id, "access_token": access_token})
    claims.validate(leeway=LEEWAY)
    return claims


def main() -> int:
    args = suite_arguments(__doc__)
    demo = load_demo(args.demo)
    suite = Suite(SUITE)
    state: dict = {}

    def metadata_step():
        meta = discovery(demo)
        expect(meta.get("issuer") == demo.issuer, f"issuer {meta.get('issuer')!r} is not the demo issuer {demo.issuer!r} (OIDC Discovery §4.3)")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint",
                     "introspection_endpoint", "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"):
            expect(name in meta, f"discovery lacks {name} (OIDC Discovery §3 / RFC 8414 §2)")
        expect("S256" in meta.get("code_challenge_methods_supported", []), "S256 not in code_challenge_methods_supported")
        expect("RS256" in meta["id_token_signing_alg_values_supported"], "RS256 must be supported (OIDC Discovery §3)")
        state["meta"] = meta
        return meta

    def rfc8414():
        response = TimedSession().get(demo.issuer + "/.well-known/oauth-authorization-server", withhold_token=True)
        expect(response.status_code == 200, "RFC 8414 metadata did not answer 200", response)
        expect(expect_json(response).get("issuer") == demo.issuer, "RFC 8414 §3.3: issuer must equal the issuer identifier", response)

    def jwks_step():
        response = TimedSession().get(state["meta"]["jwks_uri"], withhold_token=True)
        expect(response.status_code == 200, "JWKS did not answer 200", response)
        jwks = expect_json(response)
        keys = jwks.get("keys", [])
        expect(keys, "the JWK Set is empty", response)
        kids = [key.get("kid") for key in keys]
        expect(len(kids) == len(set(kids)), f"duplicate kids in the JWKS: {kids} (RFC 7517 §4.5)", response)
        for key in keys:
            expect("kid" in key, f"a key without kid: {key}", response)
            expect(not ({"d", "p", "q", "dp", "dq", "qi"} & set(key)), "a private key member is published", response)
        KeySet.import_key_set(jwks)
        state["jwks"] = jwks

    suite.step("discovery", metadata_step, required=False)
    if "meta" not in state:
        return suite.finish()
    suite.step("RFC 8414 authorization server metadata", rfc8414)
    suite.step("jwks", jwks_step)
    if "jwks" not in state:
        return suite.finish()
    meta = state["meta"]

    def code_flow(label: str, client_id: str, client_secret: str | None, auth_method: str, response_mode: str | None = None):
        browser = Browser(demo, suite)
        client = TimedSession(client_id, client_secret, scope="openid profile email offline_access", redirect_uri=demo.redirect_uri,
                              code_challenge_method="S256", token_endpoint_auth_method=auth_method)
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        extra = {"response_mode": response_mode} if response_mode else {}
        url, sent_state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra)
        flow: dict = {}

        def login():
            landing = browser.authorize(url)
            expect(landing.url.split("?")[0].split("#")[0] == demo.redirect_uri, f"the flow ended at {landing.url}, not the redirect URI")
            if response_mode == "form_post":
                expect(landing.form_post, "response_mode=form_post did not answer with an auto-submitting form (Form Post Response Mode §2)")
            expect("error" not in landing.params, f"authorization error: {landing.params}")
            expect(landing.params.get("state") == sent_state, f"state not echoed (RFC 6749 §4.1.2): {landing.params}")
            expect(landing.params.get("iss") == demo.issuer, f"iss missing or wrong (RFC 9207 §2): {landing.params}")
            expect("code" in landing.params, f"no code in the response: {landing.params}")
            flow["landing"] = landing

        suite.step(f"{label}/authorize+login", login, required=True)

        def exchange():
            token = client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=flow["landing"].params["code"],
                                       code_verifier=verifier, state=sent_state)
            for name in ("access_token", "token_type", "expires_in", "id_token", "refresh_token"):
                expect(name in token, f"token response lacks {name} (RFC 6749 §5.1 / OIDC Core §3.1.3.3): {dict(token)}")
            expect(str(token["token_type"]).lower() == "bearer", f"token_type {token['token_type']!r}")
            flow["token"] = token

        suite.step(f"{label}/token (code + PKCE, {auth_method})", exchange, required=True)

        def id_token():
            token = flow["token"]
            claims = validate_id_token(token["id_token"], state["jwks"], meta, client_id, nonce, token["access_token"])
            expect("at_hash" in claims, "the ID token has no at_hash")
            expect(claims.get("auth_time") is not None, "the ID token has no auth_time")
            flow["claims"] = claims

        suite.step(f"{label}/id_token (signature, iss, aud, exp, nonce, at_hash)", id_token, required=True)

        def tampered_nonce():
            token = flow["token"]
            try:
                validate_id_token(token["id_token"], state["jwks"], meta, client_id, nonce + "x", token["access_token"])
            except Exception:
                return
            raise CheckFailed("Authlib accepted the ID token with another nonce")

        suite.step(f"{label}/id_token refused for another nonce", tampered_nonce)

        def userinfo():
            response = client.get(meta["userinfo_endpoint"])
            expect(response.status_code == 200, "userinfo did not answer 200", response)
            info = UserInfo(expect_json(response))
            expect(info.get("sub") == flow["claims"]["sub"], "userinfo sub differs from the ID token sub (OIDC Core §5.3.2)", response)
            expect(info.get("email") == demo.email, f"userinfo email {info.get('email')!r}", response)

        suite.step(f"{label}/userinfo", userinfo)
        return client, flow

    def confidential_flow():
        cc = demo.confidential
        client, flow = code_flow("confidential", cc["client_id"], cc["client_secret"], cc.get("token_endpoint_auth_method", "client_secret_basic"))
        first = dict(flow["token"])

        def refresh():
            token = client.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])
            expect(token.get("access_token") and token["access_token"] != first["access_token"], "refresh did not issue a new access token")
            expect(token.get("refresh_token") and token["refresh_token"] != first["refresh_token"],
                   "refresh did not rotate the refresh token")
            if "id_token" in token:
                _, claims = jwt_parts(token["id_token"])
                expect(claims.get("sub") == flow["claims"]["sub"], "the refreshed ID token has another sub (OIDC Core §12.2)")
            flow["refreshed"] = dict(token)

        suite.step("confidential/refresh (rotation)", refresh, required=True)
        refreshed = flow["refreshed"]

        def introspect_active():
            response = client.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"], token_type_hint="access_token")
            body = expect_json(response)
            expect(response.status_code == 200 and body.get("active") is True, "introspection of a live access token is not active", response)
            expect(body.get("client_id") == demo.confidential["client_id"], "introspection client_id", response)
            expect(body.get("sub") == flow["claims"]["sub"], "introspection sub", response)
            expect(body.get("iss") == demo.issuer, "introspection iss", response)

        suite.step("confidential/introspect access token (active)", introspect_active)

        def introspect_refresh():
            response = client.introspect_token(meta["introspection_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
            body = expect_json(response)
            expect(response.status_code == 200 and body.get("active") is True, "introspection of a live refresh token is not active", response)

        suite.step("confidential/introspect refresh token (active)", introspect_refresh)

        def introspect_rotated():
            response = client.introspect_token(meta["introspection_endpoint"], token=first["refresh_token"], token_type_hint="refresh_token")
            expect(expect_json(response) == {"active": False}, "a rotated refresh token must introspect inactive (RFC 7662 §2.2)", response)

        suite.step("confidential/introspect rotated refresh token (inactive)", introspect_rotated)

        def revoke_access():
            response = client.revoke_token(meta["revocation_endpoint"], token=refreshed["access_token"], token_type_hint="access_token")
            expect(response.status_code == 200, "revocation did not answer 200 (RFC 7009 §2.2)", response)
            response = client.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"])
            body = expect_json(response)
            expect(body == {"active": False}, "a revoked access token must introspect as {\"active\": false} (RFC 7662 §2.2)", response)
            response = client.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + refreshed["access_token"]},
                                  withhold_token=True)
            expect_error(response, 401, "invalid_token", "RFC 6750 §3.1")

        suite.step("confidential/revoke access token", revoke_access)

        def revoke_refresh():
            response = client.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
            expect(response.status_code == 200, "revocation did not answer 200 (RFC 7009 §2.2)", response)
            response = client.introspect_token(meta["introspection_endpoint"], token=refreshed["refresh_token"])
            expect(expect_json(response) == {"active": False}, "a revoked refresh token must introspect inactive", response)
            raw = TimedSession().post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
                                      auth=(demo.confidential["client_id"], demo.confidential["client_secret"]), withhold_token=True)
            expect_error(raw, 400, "invalid_grant", "RFC 6749 §5.2: a revoked refresh token")

        suite.step("confidential/revoke refresh token", revoke_refresh)

    suite.flow("confidential", confidential_flow)

    def public_flow():
        pc = demo.public
        code_flow("public", pc["client_id"], None, "none")

    suite.flow("public", public_flow)

    def form_post_flow():
        cc = demo.confidential
        code_flow("form_post", cc["client_id"], cc["client_secret"], cc.get("token_endpoint_auth_method", "client_secret_basic"),
                  response_mode="form_post")

    suite.flow("form_post", form_post_flow)

    def client_credentials():
        cc = demo.confidential
        client = TimedSession(cc["client_id"], cc["client_secret"], token_endpoint_auth_method=cc.get("token_endpoint_auth_method"))
        token = client.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        expect("access_token" in token and "refresh_token" not in token,
               f"client_credentials must issue an access token and no refresh token (RFC 6749 §4.4.3): {dict(token)}")
        decoded = rfc_jwt.decode(token["access_token"], KeySet.import_key_set(state["jwks"]),
                                 registry=JWSRegistry(algorithms=meta["id_token_signing_alg_values_supported"], strict_check_header=False))
        expect(decoded.header.get("typ") == "at+jwt", f"access token typ {decoded.header.get('typ')!r} (RFC 9068 §2.1)")
        expect(decoded.claims.get("sub") == cc["client_id"] and decoded.claims.get("client_id") == cc["client_id"],
               f"client_credentials token sub/client_id: {decoded.claims}")
        expect(decoded.claims.get("iss") == demo.issuer, "access token iss")
        response = client.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
        expect(expect_json(response).get("active") is True, "a client_credentials token must introspect active", response)

    suite.step("client_credentials", client_credentials)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
