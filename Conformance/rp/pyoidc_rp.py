#!/usr/bin/env python3
"""Relying-party suite with pyoidc (`oic`), the OpenID Foundation-era Python RP library.

Proves that pyoidc can: read Lamba's provider configuration (issuer match, JWKS
loaded into its key jar), register clients dynamically (RFC 7591 / OIDC
Registration), run the code flow with client_secret_basic, client_secret_post
and private_key_jwt, verify the ID token (signature, iss, aud, exp, nonce),
read userinfo; that `prompt=none` answers silently with a session and with
`login_required` without one; that `max_age` forces a fresh login and
`auth_time` follows; and that RP-initiated logout returns to the registered
post_logout_redirect_uri with state and ends the session.

Usage: pyoidc_rp.py --demo DEMO.json
"""

from __future__ import annotations

import secrets
import sys
import time
import urllib.parse
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))
warnings.filterwarnings("ignore", category=DeprecationWarning)

from Cryptodome.PublicKey import RSA  # noqa: E402  (pyjwkest's key type)
from jwkest.jwk import RSAKey  # noqa: E402
from oic.oic import Client  # noqa: E402
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema, RegistrationResponse  # noqa: E402
from oic.oauth2.message import ErrorResponse  # noqa: E402
from oic.utils.authn.client import CLIENT_AUTHN_METHOD  # noqa: E402
from oic.utils.keyio import KeyBundle  # noqa: E402
from oic.utils.settings import OicClientSettings  # noqa: E402

from lambaconf import (  # noqa: E402
    TIMEOUT, Browser, CheckFailed, Suite, expect, expect_error, jwt_parts, load_demo, query_of, suite_arguments, HTTP,
)

SUITE = "pyoidc"
SCOPE = ["openid", "email", "profile"]


def new_client() -> Client:
    settings = OicClientSettings()
    settings.timeout = TIMEOUT
    return Client(client_authn_method=CLIENT_AUTHN_METHOD, settings=settings)


def main() -> int:
    args = suite_arguments(__doc__)
    demo = load_demo(args.demo)
    suite = Suite(SUITE)
    redirect_uri = demo.redirect_uri
    post_logout = demo.post_logout_redirect_uri

    def provider_config() -> Client:
        client = new_client()
        info = client.provider_config(demo.issuer)
        expect(info["issuer"] == demo.issuer, "issuer mismatch")
        expect(client.keyjar.get_issuer_keys(demo.issuer), "pyoidc loaded no keys from jwks_uri")
        expect("registration_endpoint" in info, "no registration_endpoint: dynamic registration is off for this environment")
        return client

    base = suite.step("provider config (issuer, jwks_uri into the key jar)", provider_config)
    if base is None:
        return suite.finish()

    def registered(method: str, extra: dict | None = None, client: Client | None = None) -> Client:
        client = client or new_client()
        client.provider_config(demo.issuer)
        kwargs = dict(redirect_uris=[redirect_uri], post_logout_redirect_uris=[post_logout], response_types=["code"],
                      token_endpoint_auth_method=method, client_name=f"pyoidc {method}")
        kwargs.update(extra or {})
        response = client.register(client.provider_info["registration_endpoint"], **kwargs)
        expect(isinstance(response, RegistrationResponse), f"registration answered {response!r}")
        expect(response.get("client_id"), "no client_id in the registration response (RFC 7591 §3.2.1)")
        if method in ("client_secret_basic", "client_secret_post"):
            expect(response.get("client_secret"), "no client_secret for a confidential client (RFC 7591 §3.2.1)")
        expect(response.get("token_endpoint_auth_method") == method, f"registered method {response.get('token_endpoint_auth_method')!r}")
        expect(response.get("redirect_uris") == [redirect_uri], "redirect_uris not echoed (RFC 7591 §3.2.1)")
        client.redirect_uris = [redirect_uri]
        return client

    def code_flow(client: Client, browser: Browser, label: str, method: str, **auth_args) -> dict:
        """The code flow; returns the state, the nonce and what the browser saw."""
        state = secrets.token_urlsafe(12)
        nonce = secrets.token_urlsafe(12)
        request_args = {"response_type": "code", "scope": SCOPE, "nonce": nonce, "redirect_uri": redirect_uri, "state": state}
        request_args.update(auth_args.pop("request_args", {}))
        auth_req = client.construct_AuthorizationRequest(request_args=request_args)
        url = auth_req.request(client.provider_info["authorization_endpoint"])
        result: dict = {"state": state, "nonce": nonce}

        def authorize():
            landing = browser.authorize(url)
            aresp = client.parse_response(AuthorizationResponse, info=urllib.parse.urlsplit(landing.url).query, sformat="urlencoded")
            expect(isinstance(aresp, AuthorizationResponse), f"pyoidc parsed {aresp.to_dict()}")
            expect(aresp["state"] == state, "state not echoed (RFC 6749 §4.1.2)")
            expect(landing.params.get("iss") == demo.issuer, f"iss missing or wrong (RFC 9207 §2): {landing.params}")
            result["landing"] = landing

        suite.step(f"{label}/authorize+login", authorize, required=True)

        def token():
            response = client.do_access_token_request(state=state, request_args={"code": result["landing"].params["code"],
                                                                                 "redirect_uri": redirect_uri},
                                                      authn_method=method, **auth_args)
            expect(isinstance(response, AccessTokenResponse), f"token endpoint answered {response.to_dict()}")
            id_token = response["id_token"]  # verified by pyoidc: signature with the JWKS, iss, aud, exp, nonce
            expect(id_token["nonce"] == nonce, "nonce")
            expect(id_token["iss"] == demo.issuer, "iss")
            expect(client.client_id in id_token["aud"], "aud")
            result["token"] = response
            result["id_token"] = id_token

        suite.step(f"{label}/token ({method}) + ID token verification", token, required=True)
        return result

    def userinfo_step(client: Client, label: str, result: dict):
        def userinfo():
            info = client.do_user_info_request(state=result["state"])
            expect(isinstance(info, OpenIDSchema), f"userinfo answered {info.to_dict()}")
            expect(info["sub"] == result["id_token"]["sub"], "userinfo sub differs from the ID token sub (OIDC Core §5.3.2)")
            expect(info.get("email") == demo.email, f"userinfo email {info.get('email')!r}")

        suite.step(f"{label}/userinfo", userinfo)

    # client_secret_basic, then the session-bound checks (prompt=none, max_age, logout) with its browser.
    def basic_flow():
        client = suite.step("register client_secret_basic", lambda: registered("client_secret_basic"), required=True)
        browser = Browser(demo, suite)
        result = code_flow(client, browser, "client_secret_basic", "client_secret_basic")
        userinfo_step(client, "client_secret_basic", result)
        expect_pages = result["landing"].pages

        def consent_shown():
            expect("login" in expect_pages, f"the first authorization did not show the login page: {expect_pages}")
            expect("consent" in expect_pages, f"a dynamically registered (third-party) client got no consent page: {expect_pages}")

        suite.step("client_secret_basic/login and consent pages shown", consent_shown)

        def prompt_none_with_session():
            silent = code_flow(client, browser, "prompt=none with session", "client_secret_basic", request_args={"prompt": "none"})
            expect(silent["landing"].pages == [], f"prompt=none showed pages: {silent['landing'].pages} (OIDC Core §3.1.2.1)")

        suite.flow("prompt=none with session", prompt_none_with_session)

        def prompt_none_without_session():
            fresh = Browser(demo, suite)
            state = secrets.token_urlsafe(8)
            req = client.construct_AuthorizationRequest(request_args={
                "response_type": "code", "scope": SCOPE, "nonce": "n", "redirect_uri": redirect_uri, "state": state, "prompt": "none"})
            landing = fresh.authorize(req.request(client.provider_info["authorization_endpoint"]))
            expect(landing.pages == [], f"prompt=none showed pages: {landing.pages}")
            parsed = client.parse_response(AuthorizationResponse, info=urllib.parse.urlsplit(landing.url).query, sformat="urlencoded")
            expect(isinstance(parsed, ErrorResponse) and parsed["error"] == "login_required",
                   f"expected error=login_required (OIDC Core §3.1.2.6), got {landing.params}")
            expect(landing.params.get("state") == state, "state not echoed in the error response")

        suite.step("prompt=none without session -> login_required", prompt_none_without_session)

        def max_age():
            first_auth = int(result["id_token"]["auth_time"])
            time.sleep(2)
            fresh = code_flow(client, browser, "max_age=1 after 2 s", "client_secret_basic", request_args={"max_age": 1})

            def relogin():
                expect("login" in fresh["landing"].pages, f"max_age=1 after 2 s did not ask for a fresh login: {fresh['landing'].pages} "
                                                          "(OIDC Core §3.1.2.1)")
                expect(int(fresh["id_token"]["auth_time"]) > first_auth,
                       f"auth_time did not move after re-authentication: {fresh['id_token']['auth_time']} vs {first_auth} (OIDC Core §2)")

            suite.step("max_age=1 after 2 s/fresh login and new auth_time", relogin)
            lenient = code_flow(client, browser, "max_age=3600", "client_secret_basic", request_args={"max_age": 3600})

            def no_login():
                expect(lenient["landing"].pages == [], f"max_age=3600 asked again: {lenient['landing'].pages}")
                expect("auth_time" in lenient["id_token"], "auth_time is required when max_age was requested (OIDC Core §2)")

            suite.step("max_age=3600/no login page, auth_time present", no_login)
            result["latest"] = lenient

            def silent_too_old():
                time.sleep(2)
                state = secrets.token_urlsafe(8)
                req = client.construct_AuthorizationRequest(request_args={
                    "response_type": "code", "scope": SCOPE, "nonce": "n", "redirect_uri": redirect_uri, "state": state,
                    "prompt": "none", "max_age": 1})
                landing = browser.authorize(req.request(client.provider_info["authorization_endpoint"]))
                expect(landing.pages == [], f"prompt=none showed pages: {landing.pages}")
                expect(landing.params.get("error") == "login_required",
                       f"prompt=none with an authentication older than max_age must answer login_required (OIDC Core §3.1.2.1, "
                       f"§3.1.2.6): {landing.params}")

            suite.step("prompt=none + max_age=1 after 2 s -> login_required", silent_too_old)

        suite.flow("max_age", max_age)

        def prompt_login():
            forced = code_flow(client, browser, "prompt=login", "client_secret_basic", request_args={"prompt": "login"})
            expect("login" in forced["landing"].pages, f"prompt=login did not show the login page: {forced['landing'].pages} "
                                                       "(OIDC Core §3.1.2.1)")
            result["latest"] = forced

        suite.flow("prompt=login", lambda: suite.step("prompt=login/login page shown", prompt_login))

        def prompt_consent_denied():
            browser.consent = "deny"
            try:
                state = secrets.token_urlsafe(8)
                req = client.construct_AuthorizationRequest(request_args={
                    "response_type": "code", "scope": SCOPE, "nonce": "n", "redirect_uri": redirect_uri, "state": state,
                    "prompt": "consent"})
                landing = browser.authorize(req.request(client.provider_info["authorization_endpoint"]))
            finally:
                browser.consent = "allow"
            expect("consent" in landing.pages, f"prompt=consent did not show the consent page: {landing.pages} (OIDC Core §3.1.2.1)")
            expect(landing.params.get("error") == "access_denied", f"denied consent must answer error=access_denied "
                                                                   f"(RFC 6749 §4.1.2.1): {landing.params}")
            expect(landing.params.get("state") == state and landing.params.get("iss") == demo.issuer,
                   f"state and iss in the error response: {landing.params}")

        suite.step("prompt=consent, user denies -> access_denied", prompt_consent_denied)

        def logout_needs_confirmation():
            latest = result.get("latest", result)
            req = client.construct_EndSessionRequest(state=latest["state"], request_args={"post_logout_redirect_uri": post_logout,
                                                                                          "state": "unconfirmed"})
            page = browser.http.get(req.request(client.provider_info["end_session_endpoint"]), allow_redirects=False)
            expect(page.status_code == 200, "the logout confirmation page", page)
            answer = HTTP(suite).get(client.provider_info["userinfo_endpoint"],
                                     headers={"Authorization": "Bearer " + latest["token"]["access_token"]})
            expect(answer.status_code == 200, "an unconfirmed logout GET ended the session (logout must not be triggered by a "
                                              "bare GET from another site)", answer)

        suite.step("logout/GET alone only asks for confirmation", logout_needs_confirmation)

        def logout():
            latest = result.get("latest", result)
            logout_state = secrets.token_urlsafe(8)
            req = client.construct_EndSessionRequest(state=latest["state"], request_args={
                "post_logout_redirect_uri": post_logout, "state": logout_state})
            url = req.request(client.provider_info["end_session_endpoint"])
            response = browser.logout(url)
            location = response.headers.get("Location", "")
            expect(response.status_code in (302, 303) and location.startswith(post_logout),
                   "logout did not return to the registered post_logout_redirect_uri (RP-Initiated Logout §3)", response)
            expect(query_of(location).get("state") == logout_state, "logout state not echoed (RP-Initiated Logout §3)", response)
            # The session is gone: prompt=none now answers login_required.
            state = secrets.token_urlsafe(8)
            req = client.construct_AuthorizationRequest(request_args={
                "response_type": "code", "scope": SCOPE, "nonce": "n", "redirect_uri": redirect_uri, "state": state, "prompt": "none"})
            landing = browser.authorize(req.request(client.provider_info["authorization_endpoint"]))
            expect(landing.params.get("error") == "login_required", f"after logout prompt=none answered {landing.params}")
            # Tokens of the ended session no longer open userinfo.
            answer = HTTP(suite).get(client.provider_info["userinfo_endpoint"],
                                     headers={"Authorization": "Bearer " + latest["token"]["access_token"]})
            expect_error(answer, 401, "invalid_token", "RFC 6750 §3.1: the token's session ended at logout")
            if "refresh_token" in latest["token"]:
                refresh = HTTP(suite).post(client.provider_info["token_endpoint"], data={
                    "grant_type": "refresh_token", "refresh_token": latest["token"]["refresh_token"]},
                    auth=(client.client_id, client.client_secret))
                expect_error(refresh, 400, "invalid_grant", "RFC 6749 §5.2: the refresh token's session ended at logout")

        suite.step("RP-initiated logout", logout)

        def logout_unregistered():
            response = HTTP(suite).get(client.provider_info["end_session_endpoint"], params={
                "client_id": client.client_id, "post_logout_redirect_uri": "http://127.0.0.1:9/elsewhere"}, allow_redirects=False)
            expect(response.status_code == 400 and "Location" not in response.headers,
                   "an unregistered post_logout_redirect_uri must not be redirected to (RP-Initiated Logout §3)", response)

        suite.step("logout refuses an unregistered post_logout_redirect_uri", logout_unregistered)

    suite.flow("client_secret_basic", basic_flow)

    def post_flow():
        client = suite.step("register client_secret_post", lambda: registered("client_secret_post"), required=True)
        result = code_flow(client, Browser(demo, suite), "client_secret_post", "client_secret_post")
        userinfo_step(client, "client_secret_post", result)

    suite.flow("client_secret_post", post_flow)

    def private_key_jwt_flow():
        def register():
            key = RSAKey(key=RSA.generate(2048), kid="pyoidc-" + secrets.token_hex(4), use="sig")
            client = new_client()
            client.keyjar.add_kb("", KeyBundle([key.serialize(private=True)]))
            public = key.serialize(private=False)
            public["alg"] = "RS256"
            client = registered("private_key_jwt", {"jwks": {"keys": [public]}, "token_endpoint_auth_signing_alg": "RS256"}, client=client)
            expect(client.client_secret in (None, ""), "a private_key_jwt client got a client_secret")
            return client

        client = suite.step("register private_key_jwt (jwks)", register, required=True)
        result = code_flow(client, Browser(demo, suite), "private_key_jwt", "private_key_jwt", algorithm="RS256")
        userinfo_step(client, "private_key_jwt", result)

    suite.flow("private_key_jwt", private_key_jwt_flow)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
