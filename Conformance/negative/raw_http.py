#!/usr/bin/env python3
"""Negative suite with raw HTTP (requests): what Lamba must refuse, and exactly how.

Every check sends one malformed, replayed, foreign or hostile request and
expects the status and `error` code that the RFCs require (the rule is named
in the step), plus the side effects that protect users: a replayed code or a
reused refresh token revokes what it issued; a client never revokes another
client's token; errors about the client or the redirect URI are never sent to
that redirect URI.

Covered: wrong / unregistered redirect URIs, replayed codes, PKCE mismatch and
downgrade, reused refresh tokens, wrong client secrets and mixed client
authentication, sandbox credentials and tokens on production, bad content
types, duplicate parameters, oversized bodies, bearer token errors,
revocation/introspection/registration refusals.

Usage: raw_http.py --demo DEMO.json
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from lambaconf import (  # noqa: E402
    HTTP, Browser, CheckFailed, Suite, authorize_url, b64u, discovery, expect, expect_error, expect_json, expect_redirect_error,
    load_console, load_demo, parse_forms, pkce_pair, query_of, suite_arguments,
)

SUITE = "negative"
FORM = "application/x-www-form-urlencoded"


def main() -> int:
    args = suite_arguments(__doc__, foreign=True)
    demo = load_demo(args.demo)
    suite = Suite(SUITE)
    http = HTTP(suite)
    meta = suite.step("discovery", lambda: discovery(demo, http))
    if meta is None:
        return suite.finish()
    cc, pc = demo.confidential, demo.public
    basic = (cc["client_id"], cc["client_secret"])
    token_url, authz_url = meta["token_endpoint"], meta["authorization_endpoint"]
    browser = Browser(demo, suite)

    def authorize(client_id: str = cc["client_id"], redirect_uri: str = demo.redirect_uri, **extra) -> tuple[str, str, str]:
        """A fresh code for the demo user (signed in once); returns (code, verifier, state)."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        params = dict(response_type="code", client_id=client_id, redirect_uri=redirect_uri, scope="openid email offline_access",
                      state=state, nonce=secrets.token_urlsafe(8), code_challenge=challenge, code_challenge_method="S256")
        params.update(extra)
        landing = browser.authorize(authorize_url(authz_url, **{k: v for k, v in params.items() if v is not None}))
        expect("code" in landing.params, f"no code: {landing.params}")
        return landing.params["code"], verifier, landing.params.get("state")

    def exchange(code: str, verifier: str | None, auth=basic, redirect_uri: str = demo.redirect_uri, **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier is not None:
            data["code_verifier"] = verifier
        data.update(extra)
        return http.post(token_url, data=data, auth=auth)

    def tokens() -> dict:
        code, verifier, _ = authorize()
        response = exchange(code, verifier)
        expect(response.status_code == 200, "setup: the code exchange failed", response)
        return expect_json(response)

    def userinfo(access_token: str, url: str | None = None):
        return http.get(url or meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + access_token})

    def no_redirect(response, rule: str):
        location = urljoin(response.url, response.headers.get("Location", "")) if "Location" in response.headers else ""
        expect(not location or location.startswith(demo.base_url + "/"),
               f"redirected away from Lamba although the client or redirect URI is not trusted ({rule})", response)
        expect(400 <= response.status_code < 500, f"expected a 4xx error page ({rule})", response)
        if response.status_code == 401:
            expect("WWW-Authenticate" in response.headers, "a 401 answer without WWW-Authenticate (RFC 9110 §15.5.2)", response)

    # Sign in once (also proves the demo works).
    if suite.step("setup/sign in", lambda: authorize(), ) is None:
        return suite.finish()

    # ------------------------------------------------------------------ authorization endpoint
    def unregistered_redirect():
        response = http.get(authorize_url(authz_url, response_type="code", client_id=cc["client_id"],
                                          redirect_uri="http://127.0.0.1:9876/evil", scope="openid", state="s"), allow_redirects=False)
        no_redirect(response, "RFC 6749 §4.1.2.1, §3.1.2.4")

    suite.step("authorize/unregistered redirect_uri: error page, no redirect", unregistered_redirect)

    def near_miss_redirect():
        for uri in (demo.redirect_uri + "/", demo.redirect_uri + "?x=1", demo.redirect_uri.replace("127.0.0.1", "localhost"),
                    demo.redirect_uri.upper()):
            response = http.get(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=uri,
                                              scope="openid", state="s"), allow_redirects=False)
            no_redirect(response, f"exact redirect URI matching, {uri!r} (OAuth 2.0 Security BCP §4.1.3)")

    suite.step("authorize/redirect_uri near misses are not matched", near_miss_redirect)

    def unknown_client():
        response = http.get(authorize_url(authz_url, response_type="code", client_id="cli_unknown", redirect_uri=demo.redirect_uri,
                                          scope="openid", state="s"), allow_redirects=False)
        no_redirect(response, "RFC 6749 §4.1.2.1: invalid client_id")

    suite.step("authorize/unknown client_id: error page, no redirect", unknown_client)

    def duplicate_redirect_uri():
        url = authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri, scope="openid")
        response = http.get(url + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9876%2Fevil", allow_redirects=False)
        no_redirect(response, "RFC 6749 §3.1: repeated redirect_uri")

    suite.step("authorize/duplicate redirect_uri: error page, no redirect", duplicate_redirect_uri)

    def authorize_error(label: str, expected: str, rule: str, client_id=cc["client_id"], **params):
        def check():
            state = secrets.token_urlsafe(6)
            base = dict(response_type="code", client_id=client_id, redirect_uri=demo.redirect_uri, scope="openid", state=state)
            base.update(params)
            url = authorize_url(authz_url, **{k: v for k, v in base.items() if v is not None and k != "_append"}) + params.get("_append", "")
            response = http.get(url, allow_redirects=False)
            expect(response.status_code in (302, 303), f"expected a redirect to the client with error={expected} ({rule})", response)
            expect_redirect_error(response.headers["Location"], demo.redirect_uri, expected, state, demo.issuer, rule)

        suite.step(f"authorize/{label} -> {expected}", check)

    authorize_error("duplicate scope", "invalid_request", "RFC 6749 §3.1", _append="&scope=email")
    authorize_error("response_type=token", "unsupported_response_type", "RFC 6749 §4.1.2.1", response_type="token")
    authorize_error("missing response_type", "invalid_request", "RFC 6749 §4.1.2.1", response_type=None)
    authorize_error("unknown scope", "invalid_scope", "RFC 6749 §4.1.2.1", scope="openid admin:everything")
    authorize_error("public client without code_challenge", "invalid_request", "RFC 7636 §4.4.1", client_id=pc["client_id"])
    authorize_error("code_challenge_method=plain", "invalid_request", "RFC 7636 §4.4.1 (server does not support plain)",
                    code_challenge=pkce_pair()[0], code_challenge_method="plain")
    authorize_error("request object", "request_not_supported", "OIDC Core §3.1.2.6", request="e30.e30.")
    authorize_error("response_type=code id_token", "unsupported_response_type", "RFC 6749 §4.1.2.1 (only code is offered)",
                    response_type="code id_token", nonce="n")
    authorize_error("request_uri", "request_uri_not_supported", "OIDC Core §3.1.2.6", request_uri="https://127.0.0.1:1/r")
    authorize_error("prompt=none combined with login", "invalid_request", "OIDC Core §3.1.2.1", prompt="none login")
    authorize_error("malformed code_challenge", "invalid_request", "RFC 7636 §4.2, §4.4.1", code_challenge="short",
                    code_challenge_method="S256")

    def unknown_parameters_ignored():
        code, verifier, _ = authorize(foo="bar", ui_locales="fr", claims_locales="fr")
        response = exchange(code, verifier, foo="bar")
        expect(response.status_code == 200, "unrecognized parameters must be ignored (RFC 6749 §3.1, §3.2)", response)

    suite.step("authorize+token/unrecognized parameters are ignored", unknown_parameters_ignored)

    def state_round_trip():
        tricky = "a b&c=d/é?#%+" + secrets.token_urlsafe(4)
        _, _, state = authorize(state=tricky)
        expect(state == tricky, f"state came back as {state!r}, sent {tricky!r} (RFC 6749 §4.1.2: the exact value)")

    suite.step("authorize/state with reserved and non-ASCII characters comes back exactly", state_round_trip)

    def authorize_by_post():
        verifier, challenge = pkce_pair()
        response = browser.http.post(authz_url, data=dict(response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                                          scope="openid", state="posted", code_challenge=challenge,
                                                          code_challenge_method="S256"), allow_redirects=False)
        expect(response.status_code in (302, 303), "POST /authorize must be supported (OIDC Core §3.1.2.1)", response)
        location = response.headers["Location"]
        if location.startswith(demo.redirect_uri):
            params = query_of(location)
        else:
            params = browser.authorize(urljoin(response.url, location)).params
        expect(params.get("state") == "posted" and "code" in params, f"POST /authorize did not yield a code: {params}")
        expect(exchange(params["code"], verifier).status_code == 200, "the code from POST /authorize did not exchange")

    suite.step("authorize/POST form is supported", authorize_by_post)

    def fragment_mode():
        verifier, challenge = pkce_pair()
        landing = browser.authorize(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                                  scope="openid", state="frag", response_mode="fragment", code_challenge=challenge,
                                                  code_challenge_method="S256"))
        expect("#" in landing.url and "code=" in landing.url.split("#", 1)[1] and "code=" not in landing.url.split("#", 1)[0],
               f"response_mode=fragment must put the response in the fragment (OAuth 2.0 Multiple Response Types §2.1): {landing.url}")
        expect(landing.params.get("iss") == demo.issuer, "iss (RFC 9207)")

    suite.step("authorize/response_mode=fragment", fragment_mode)

    # ------------------------------------------------------------------ hosted pages
    def login_page(fresh: Browser):
        """GET an authorization request without a session and return the login page response."""
        verifier, challenge = pkce_pair()
        response = fresh.http.get(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                                scope="openid", state="lp", code_challenge=challenge, code_challenge_method="S256"))
        expect(response.status_code == 200 and parse_forms(response.text), "no login page", response)
        return response

    def page_headers():
        response = login_page(Browser(demo, suite))
        csp = response.headers.get("Content-Security-Policy", "")
        expect("frame-ancestors 'none'" in csp or response.headers.get("X-Frame-Options", "").upper() in ("DENY", "SAMEORIGIN"),
               "the login page may be framed (clickjacking; RFC 6749 §10.13)", response)
        expect("no-store" in response.headers.get("Cache-Control", ""), "the login page may be cached", response)

    suite.step("hosted pages/login page cannot be framed or cached", page_headers)

    def login_without_csrf():
        fresh = Browser(demo, suite)
        response = login_page(fresh)
        form = parse_forms(response.text)[0]
        data = [(k, v) for k, v in form.fields if k != "csrf_token"] + [("csrf_token", "forged"), ("email", demo.email),
                                                                        ("password", demo.password)]
        answer = fresh.http.post(urljoin(response.url, form.action), data=data, allow_redirects=False)
        expect(answer.status_code != 303 and not any(c.name.startswith("lamba_session") for c in fresh.http.cookies),
               "a login POST with a forged CSRF token signed the user in (RFC 6749 §10.12)", answer)
        other = Browser(demo, suite)  # a CSRF token minted for another browser's cookie
        token = dict(form.fields)["csrf_token"]
        response = login_page(other)
        form = parse_forms(response.text)[0]
        data = [(k, v) for k, v in form.fields if k != "csrf_token"] + [("csrf_token", token), ("email", demo.email),
                                                                        ("password", demo.password)]
        answer = other.http.post(urljoin(response.url, form.action), data=data, allow_redirects=False)
        expect(answer.status_code != 303, "a CSRF token of another browser was accepted (RFC 6749 §10.12)", answer)

    suite.step("hosted pages/login refuses forged or foreign CSRF tokens", login_without_csrf)

    def wrong_password():
        fresh = Browser(demo, suite, password="not-the-password")
        try:
            fresh.authorize(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                          scope="openid", state="wp", code_challenge=pkce_pair()[1], code_challenge_method="S256"))
        except CheckFailed as refused:
            expect(refused.response is not None and "wrong" in refused.response.text, "no error message", refused.response)
            expect(not any(c.name.startswith("lamba_session") for c in fresh.http.cookies), "a session cookie after a failed login")
            return refused.response
        raise CheckFailed("a wrong password signed the user in")

    refused_login = suite.step("hosted pages/wrong password is refused without a session", wrong_password)
    if refused_login is not None:
        suite.step("hosted pages/refused login status",
                   lambda: expect(refused_login.status_code != 401 or "WWW-Authenticate" in refused_login.headers,
                                  "a 401 answer without WWW-Authenticate (RFC 9110 §15.5.2)", refused_login))

    def session_cookie_flags():
        fresh = Browser(demo, suite)
        response = login_page(fresh)
        form = parse_forms(response.text)[0]
        answer = fresh.http.post(urljoin(response.url, form.action), data=list(form.fields) + [("email", demo.email),
                                                                                              ("password", demo.password)],
                                 allow_redirects=False)
        cookies = [v for k, v in answer.raw.headers.items() if k.lower() == "set-cookie" and v.startswith("lamba_session")]
        expect(cookies, "no session cookie after a successful login", answer)
        flags = cookies[0].lower()
        expect("httponly" in flags and "samesite=lax" in flags or "samesite=strict" in flags,
               f"the session cookie lacks HttpOnly or SameSite: {cookies[0]}", answer)

    suite.step("hosted pages/session cookie is HttpOnly and SameSite", session_cookie_flags)

    def form_post_escaping():
        hostile = '"><script>alert(1)</script><x y="'
        verifier, challenge = pkce_pair()
        response = browser.http.get(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                                  scope="openid", state=hostile, response_mode="form_post", code_challenge=challenge,
                                                  code_challenge_method="S256"), allow_redirects=True)
        expect(response.status_code == 200, "no form_post page", response)
        expect("<script>alert(1)" not in response.text, "state is reflected unescaped in the form_post page (XSS)", response)
        fields = dict(parse_forms(response.text)[0].fields)
        expect(fields.get("state") == hostile, f"state must come back exactly: {fields.get('state')!r}", response)

    suite.step("hosted pages/form_post escapes the state it reflects", form_post_escaping)

    def error_page_escaping():
        response = http.get(authorize_url(authz_url, response_type="code", client_id="<script>alert(1)</script>",
                                          redirect_uri=demo.redirect_uri, scope="openid"), allow_redirects=False)
        expect("<script>alert(1)" not in response.text, "the error page reflects input unescaped (XSS)", response)

    suite.step("hosted pages/error page escapes what it reflects", error_page_escaping)

    # ------------------------------------------------------------------ authorization code
    def wrong_redirect_at_token():
        code, verifier, _ = authorize()
        response = exchange(code, verifier, redirect_uri="http://127.0.0.1:9876/other")
        expect_error(response, 400, "invalid_grant", "RFC 6749 §4.1.3: redirect_uri must match the authorization request")

    suite.step("token/redirect_uri differs from the authorization request -> invalid_grant", wrong_redirect_at_token)

    def replayed_code():
        code, verifier, _ = authorize()
        first = exchange(code, verifier)
        expect(first.status_code == 200, "setup: the first exchange failed", first)
        issued = expect_json(first)
        second = exchange(code, verifier)
        expect_error(second, 400, "invalid_grant", "RFC 6749 §4.1.2: a code is used once")
        expect_error(userinfo(issued["access_token"]), 401, "invalid_token",
                     "RFC 6749 §4.1.2 / §10.5: tokens issued from a replayed code should be revoked")
        refresh = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}, auth=basic)
        expect_error(refresh, 400, "invalid_grant", "RFC 6749 §4.1.2: the refresh token issued from a replayed code is revoked")

    suite.step("token/replayed code -> invalid_grant, issued tokens revoked", replayed_code)

    def pkce_mismatch():
        code, _, _ = authorize()
        other, _ = pkce_pair()
        expect_error(exchange(code, other), 400, "invalid_grant", "RFC 7636 §4.6")

    suite.step("token/PKCE verifier mismatch -> invalid_grant", pkce_mismatch)

    def pkce_missing():
        code, _, _ = authorize()
        expect_error(exchange(code, None), 400, "invalid_grant", "RFC 7636 §4.6: the code was bound to a challenge")

    suite.step("token/PKCE verifier missing -> invalid_grant", pkce_missing)

    def pkce_downgrade():
        code, _, _ = authorize(code_challenge=None, code_challenge_method=None)
        verifier, _ = pkce_pair()
        expect_error(exchange(code, verifier), 400, "invalid_grant",
                     "OAuth 2.0 Security BCP (RFC 9700) §4.8.2: a code_verifier for a code issued without a challenge")

    suite.step("token/code_verifier for a code without PKCE -> invalid_grant", pkce_downgrade)

    def code_of_another_client():
        code, verifier, _ = authorize()
        response = exchange(code, verifier, auth=None, client_id=pc["client_id"])
        expect_error(response, 400, "invalid_grant", "RFC 6749 §4.1.3: the code was issued to another client")
        expect(exchange(code, verifier).status_code == 200, "the rightful client could no longer use its code")

    suite.step("token/code issued to another client -> invalid_grant", code_of_another_client)

    def success_headers():
        code, verifier, _ = authorize()
        response = exchange(code, verifier)
        expect(response.status_code == 200, "the code exchange failed", response)
        expect("no-store" in response.headers.get("Cache-Control", ""), "token response without Cache-Control: no-store (RFC 6749 §5.1)", response)
        expect(response.headers.get("Content-Type", "").startswith("application/json"), "token response is not application/json", response)

    suite.step("token/success is application/json with Cache-Control: no-store", success_headers)

    def token_by_get():
        response = http.get(token_url, params={"grant_type": "client_credentials"}, auth=basic)
        expect(response.status_code >= 400 and "access_token" not in response.text,
               "the token endpoint must accept POST only (RFC 6749 §3.2)", response)

    suite.step("token/GET is refused", token_by_get)

    def concurrent_code():
        code, verifier, _ = authorize()
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: HTTP().post(token_url, data={"grant_type": "authorization_code", "code": code,
                                                                            "redirect_uri": demo.redirect_uri, "code_verifier": verifier},
                                                          auth=basic), range(4)))
        winners = [a for a in answers if a.status_code == 200]
        expect(len(winners) <= 1, f"{len(winners)} concurrent exchanges of one code succeeded (RFC 6749 §4.1.2: used once)", winners[-1])
        for answer in answers:
            if answer.status_code != 200:
                expect_error(answer, 400, "invalid_grant", "RFC 6749 §5.2: the losing exchanges")

    suite.step("token/one code exchanged concurrently: at most one success", concurrent_code)

    def concurrent_refresh():
        issued = tokens()
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: HTTP().post(token_url, data={"grant_type": "refresh_token",
                                                                            "refresh_token": issued["refresh_token"]},
                                                          auth=basic), range(4)))
        winners = [a for a in answers if a.status_code == 200]
        expect(len(winners) <= 1, f"{len(winners)} concurrent uses of one refresh token succeeded (rotation)", winners[-1])
        for answer in answers:
            if answer.status_code != 200:
                expect_error(answer, 400, "invalid_grant", "RFC 6749 §5.2: the losing refreshes")

    suite.step("token/one refresh token used concurrently: at most one success", concurrent_refresh)

    def malformed_never_500():
        cases = [
            ("bad percent-encoding", b"grant_type=%zz", {"Content-Type": FORM}, basic),
            ("invalid UTF-8", b"grant_type=client_credentials&scope=%ff%fe", {"Content-Type": FORM}, basic),
            ("empty body", b"", {"Content-Type": FORM}, basic),
            ("Basic not base64", b"grant_type=client_credentials", {"Content-Type": FORM, "Authorization": "Basic !!!"}, None),
            ("Basic without colon", b"grant_type=client_credentials",
             {"Content-Type": FORM, "Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, None),
            ("10 KB client_id", b"grant_type=client_credentials&client_id=" + b"a" * 10000, {"Content-Type": FORM}, None),
            ("NUL in code", b"grant_type=authorization_code&code=%00&redirect_uri=x", {"Content-Type": FORM}, basic),
        ]
        for label, body, headers, auth in cases:
            response = http.post(token_url, data=body, headers=headers, auth=auth)
            expect(400 <= response.status_code < 500, f"{label}: malformed input must get a 4xx protocol error, never a 5xx (DESIGN)",
                   response)
            expect(expect_json(response).get("error") in ("invalid_request", "invalid_client", "invalid_grant", "invalid_scope"),
                   f"{label}: unexpected error code (RFC 6749 §5.2)", response)

    suite.step("token/malformed input gets a 4xx RFC 6749 error, never 5xx", malformed_never_500)

    # ------------------------------------------------------------------ refresh tokens
    def reused_refresh():
        issued = tokens()
        first = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}, auth=basic)
        expect(first.status_code == 200, "setup: the first refresh failed", first)
        rotated = expect_json(first)
        again = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}, auth=basic)
        expect_error(again, 400, "invalid_grant", "RFC 6749 §6 / RFC 9700 §4.14.2: a rotated refresh token is refused")
        successor = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}, auth=basic)
        expect_error(successor, 400, "invalid_grant", "RFC 9700 §4.14.2: reuse revokes the active refresh token of the family")
        expect_error(userinfo(rotated["access_token"]), 401, "invalid_token", "reuse detection revokes the grant's access tokens")

    suite.step("token/reused refresh token -> invalid_grant, family revoked", reused_refresh)

    def no_auto_heal():
        # The reuse above revoked this browser's runtime scope; its global session lives on.
        state = secrets.token_urlsafe(6)
        verifier, challenge = pkce_pair()
        landing = browser.authorize(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                                  scope="openid", state=state, prompt="none", code_challenge=challenge,
                                                  code_challenge_method="S256"))
        expect(landing.params.get("error") in ("login_required", "interaction_required", "account_selection_required"),
               f"prompt=none after a revoked runtime scope must not mint a new one (DESIGN, seed 002): {landing.params}")
        expect(landing.params.get("state") == state and landing.params.get("iss") == demo.issuer, f"state and iss: {landing.params}")
        landing = browser.authorize(authorize_url(authz_url, response_type="code", client_id=cc["client_id"], redirect_uri=demo.redirect_uri,
                                                  scope="openid", state=state, code_challenge=challenge, code_challenge_method="S256"))
        expect("code" in landing.params and landing.pages, f"explicit re-entry (with a page) must work again: {landing.pages} {landing.params}")

    suite.step("authorize/revoked runtime scope never auto-heals under prompt=none", no_auto_heal)

    def refresh_other_client():
        issued = tokens()
        response = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
                                              "client_id": pc["client_id"]})
        expect_error(response, 400, "invalid_grant", "RFC 6749 §6: the refresh token was issued to another client")

    suite.step("token/refresh token of another client -> invalid_grant", refresh_other_client)

    def refresh_wider_scope():
        issued = tokens()
        response = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
                                              "scope": "openid email profile offline_access"}, auth=basic)
        expect_error(response, 400, "invalid_scope", "RFC 6749 §6: the scope must not exceed the original grant")

    suite.step("token/refresh with a wider scope -> invalid_scope", refresh_wider_scope)

    # ------------------------------------------------------------------ client authentication
    def wrong_secret_basic():
        response = http.post(token_url, data={"grant_type": "client_credentials"}, auth=(cc["client_id"], cc["client_secret"] + "x"))
        expect_error(response, 401, "invalid_client", "RFC 6749 §5.2")
        expect(response.headers.get("WWW-Authenticate", "").lower().startswith("basic"),
               "401 after Basic authentication must carry WWW-Authenticate: Basic (RFC 6749 §5.2)", response)

    suite.step("token/wrong client secret (Basic) -> 401 invalid_client + WWW-Authenticate", wrong_secret_basic)

    def wrong_secret_post():
        response = http.post(token_url, data={"grant_type": "client_credentials", "client_id": cc["client_id"],
                                              "client_secret": "lmb_cs_wrong"})
        expect_error(response, 401, "invalid_client", "RFC 6749 §5.2")

    suite.step("token/wrong client secret (post) -> invalid_client", wrong_secret_post)

    def unknown_client_token():
        response = http.post(token_url, data={"grant_type": "client_credentials"}, auth=("cli_nobody", "secret"))
        expect_error(response, 401, "invalid_client", "RFC 6749 §5.2")

    suite.step("token/unknown client -> invalid_client", unknown_client_token)

    def two_methods():
        response = http.post(token_url, data={"grant_type": "client_credentials", "client_id": cc["client_id"],
                                              "client_secret": cc["client_secret"]}, auth=basic)
        expect_error(response, 400, "invalid_request", "RFC 6749 §2.3 / §5.2: more than one authentication mechanism")

    suite.step("token/two client authentication methods -> invalid_request", two_methods)

    def unsupported_grant():
        response = http.post(token_url, data={"grant_type": "password", "username": demo.email, "password": demo.password}, auth=basic)
        expect_error(response, 400, "unsupported_grant_type", "RFC 6749 §5.2")

    suite.step("token/grant_type=password -> unsupported_grant_type", unsupported_grant)

    def missing_grant():
        expect_error(http.post(token_url, data={"code": "x"}, auth=basic), 400, "invalid_request", "RFC 6749 §5.2: grant_type missing")

    suite.step("token/missing grant_type -> invalid_request", missing_grant)

    def public_client_credentials():
        response = http.post(token_url, data={"grant_type": "client_credentials", "client_id": pc["client_id"]})
        expect(response.status_code in (400, 401), "a public client obtained client_credentials tokens", response)
        body = expect_json(response)
        expect(body.get("error") in ("unauthorized_client", "invalid_client"),
               "expected unauthorized_client (RFC 6749 §4.4, §5.2) or invalid_client", response)

    suite.step("token/public client asks client_credentials -> refused", public_client_credentials)

    def cc_user_scope():
        response = http.post(token_url, data={"grant_type": "client_credentials", "scope": "openid"}, auth=basic)
        expect_error(response, 400, "invalid_scope", "RFC 6749 §5.2: openid needs a user")

    suite.step("token/client_credentials with scope=openid -> invalid_scope", cc_user_scope)

    # ------------------------------------------------------------------ private_key_jwt assertions (RFC 7523 §3)
    if "registration_endpoint" in meta:
        from joserfc import jwk as rfc_jwk, jwt as rfc_jwt  # noqa: PLC0415

        key = rfc_jwk.ECKey.generate_key("P-256", parameters={"kid": "neg-" + secrets.token_hex(3), "use": "sig", "alg": "ES256"})
        stranger = rfc_jwk.ECKey.generate_key("P-256", parameters={"kid": key.kid, "use": "sig", "alg": "ES256"})

        def register_pkjwt():
            response = http.post(meta["registration_endpoint"], json={
                "client_name": "negative private_key_jwt", "redirect_uris": [demo.redirect_uri], "token_endpoint_auth_method": "private_key_jwt",
                "grant_types": ["client_credentials"], "jwks": {"keys": [key.as_dict(private=False)]}})
            expect(response.status_code == 201, "registration of a private_key_jwt client failed", response)
            return expect_json(response)["client_id"]

        pk_client = suite.step("private_key_jwt/register (RFC 7591, jwks)", register_pkjwt)
        if pk_client:
            def assertion(signer=key, alg="ES256", **overrides) -> str:
                now = int(time.time())
                claims = {"iss": pk_client, "sub": pk_client, "aud": token_url, "jti": secrets.token_urlsafe(12), "iat": now, "exp": now + 120}
                claims.update(overrides)
                claims = {k: v for k, v in claims.items() if v is not None}
                return rfc_jwt.encode({"alg": alg, "kid": key.kid}, claims, signer)

            def with_assertion(value: str):
                return http.post(token_url, data={"grant_type": "client_credentials", "client_id": pk_client, "client_assertion": value,
                                                  "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})

            def good_then_replayed():
                value = assertion()
                first = with_assertion(value)
                expect(first.status_code == 200, "a valid client assertion was refused", first)
                expect_error(with_assertion(value), 401, "invalid_client", "RFC 7523 §3 (7): a replayed jti is refused")

            suite.step("private_key_jwt/valid assertion accepted, replayed jti refused", good_then_replayed)

            def refused(label: str, make, rule: str):
                suite.step(f"private_key_jwt/{label} -> 401 invalid_client",
                           lambda: expect_error(with_assertion(make()), 401, "invalid_client", rule))

            refused("wrong aud", lambda: assertion(aud="https://elsewhere.example/token"), "RFC 7523 §3 (3): aud must identify this server")
            refused("expired", lambda: assertion(exp=int(time.time()) - 300, iat=int(time.time()) - 600), "RFC 7523 §3 (4)")
            refused("no exp", lambda: assertion(exp=None), "RFC 7523 §3 (4): exp is required")
            refused("another key", lambda: assertion(signer=stranger), "RFC 7523 §3 (9): signature by the client's registered key")
            refused("iss is not the client", lambda: assertion(iss="cli_someone_else"), "RFC 7523 §3 (1)")

            def alg_none():
                h = b64u(json.dumps({"alg": "none", "kid": key.kid}).encode())
                now = int(time.time())
                p_ = b64u(json.dumps({"iss": pk_client, "sub": pk_client, "aud": token_url, "jti": secrets.token_urlsafe(8),
                                      "exp": now + 60}).encode())
                return f"{h}.{p_}."

            refused("alg none", alg_none, "RFC 7523 §3 (9) / RFC 8725 §3.1")

            # Hostile numbers: exp, nbf and iat from the assertion are bounded before any arithmetic.
            # Each once took the whole server down (an Int64 overflow trap), so after each the server
            # must still answer.
            for label, claim, value in [
                ("exp near 2^63", "exp", 2**63 - 1),
                ("exp between 9.3e15 and 9.2e18", "exp", 9_300_000_000_000_000),
                ("exp past 2^63 as a real", "exp", 1e19),
                ("exp in year 10000", "exp", 253_402_300_800),
                ("exp before 1970", "exp", -1),
                ("nbf near 2^63", "nbf", 2**63 - 1),
                ("nbf near -2^63", "nbf", -(2**63)),
                ("iat near 2^63", "iat", 2**63 - 1),
            ]:
                def hostile(claim=claim, value=value):
                    response = with_assertion(assertion(**{claim: value}))
                    expect_error(response, 401, "invalid_client", "RFC 7519 §2: a NumericDate out of range is refused")
                    alive = http.get(meta["jwks_uri"])
                    expect(alive.status_code == 200, "the server stopped answering after a hostile NumericDate", alive)
                suite.step(f"private_key_jwt/{label} -> 401 invalid_client, server alive", hostile)

            def nbf_in_future():
                response = with_assertion(assertion(nbf=int(time.time()) + 3600))
                expect_error(response, 401, "invalid_client", "RFC 7519 §4.1.5: not before nbf")

            suite.step("private_key_jwt/nbf an hour ahead -> 401 invalid_client", nbf_in_future)

            def secret_for_pkjwt_client():
                response = http.post(token_url, data={"grant_type": "client_credentials"}, auth=(pk_client, "guess"))
                expect_error(response, 401, "invalid_client", "OIDC Core §9: a client uses its registered authentication method")

            suite.step("private_key_jwt/a client secret for a private_key_jwt client -> 401 invalid_client", secret_for_pkjwt_client)

    # ------------------------------------------------------------------ sandbox vs production
    production = demo.other_environment_issuer()

    def production_discovery():
        response = http.get(production + "/.well-known/openid-configuration")
        expect(response.status_code == 200, "the production issuer of the demo Project does not answer", response)
        body = expect_json(response)
        expect(body.get("issuer") == production and body.get("issuer") != demo.issuer, "production issuer", response)
        return body

    prod_meta = suite.step("production/discovery is a separate issuer", production_discovery)
    prod_token_url = (prod_meta or {}).get("token_endpoint", production + "/token")

    def sandbox_credentials_on_production():
        response = http.post(prod_token_url, data={"grant_type": "client_credentials"}, auth=basic)
        expect_error(response, 401, "invalid_client", "RFC 6749 §5.2; DESIGN: sandbox and production never share credentials")

    suite.step("production/sandbox client credentials -> 401 invalid_client", sandbox_credentials_on_production)

    def sandbox_client_authorize_on_production():
        response = http.get(authorize_url((prod_meta or {}).get("authorization_endpoint", production + "/authorize"), response_type="code",
                                          client_id=cc["client_id"], redirect_uri=demo.redirect_uri, scope="openid", state="s"),
                            allow_redirects=False)
        no_redirect(response, "RFC 6749 §4.1.2.1: the client is unknown in production")

    suite.step("production/sandbox client_id at authorize -> error page, no redirect", sandbox_client_authorize_on_production)

    def sandbox_token_on_production():
        issued = tokens()
        response = userinfo(issued["access_token"], (prod_meta or {}).get("userinfo_endpoint", production + "/userinfo"))
        expect_error(response, 401, "invalid_token", "RFC 6750 §3.1: a sandbox token is foreign to production")
        expect('error="invalid_token"' in response.headers.get("WWW-Authenticate", ""),
               "WWW-Authenticate must carry error=\"invalid_token\" (RFC 6750 §3)", response)
        refresh = http.post(prod_token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
                                                  "client_id": pc["client_id"]})
        expect(refresh.status_code in (400, 401) and expect_json(refresh).get("error") in ("invalid_client", "invalid_grant"),
               "a sandbox refresh token was accepted by production", refresh)

    suite.step("production/sandbox tokens are foreign -> invalid_token", sandbox_token_on_production)

    def unknown_issuer():
        response = http.get(demo.base_url + "/p/no-such-project-" + secrets.token_hex(3) + "/sandbox/.well-known/openid-configuration")
        expect(response.status_code == 404, "discovery of an unknown Project must be 404", response)
        response = http.post(demo.base_url + "/p/no-such-project/sandbox/token", data={"grant_type": "client_credentials"}, auth=basic)
        expect(response.status_code == 404, "the token endpoint of an unknown Project must be 404", response)

    suite.step("foreign issuer/unknown Project -> 404", unknown_issuer)

    # ------------------------------------------------------------------ a foreign Project's tokens
    # Another Lamba database with the same public URL: its demo Project has the very same issuer
    # string, but other ids and other signing keys. Nothing of it may be honoured here.
    if args.foreign_demo and args.foreign_url:
        foreign = load_demo(args.foreign_demo)
        foreign_url = args.foreign_url.rstrip("/")

        def foreign_tokens():
            expect(foreign.issuer == demo.issuer, f"fixture: the foreign issuer {foreign.issuer} should equal {demo.issuer}")
            expect(foreign.raw["project_id"] != demo.raw["project_id"], "fixture: the foreign Project has the same id")
            real = lambda url: foreign_url + url[len(demo.base_url):]  # noqa: E731
            fb = Browser(foreign, suite, server_url=foreign_url)
            verifier, challenge = pkce_pair()
            landing = fb.authorize(authorize_url(real(authz_url), response_type="code", client_id=foreign.public["client_id"],
                                                 redirect_uri=foreign.redirect_uri, scope="openid email offline_access", state="f",
                                                 code_challenge=challenge, code_challenge_method="S256"))
            expect("code" in landing.params, f"fixture: no code from the foreign Lamba: {landing.params}")
            response = http.post(real(token_url), data={"grant_type": "authorization_code", "code": landing.params["code"],
                                                        "redirect_uri": foreign.redirect_uri, "code_verifier": verifier,
                                                        "client_id": foreign.public["client_id"]})
            expect(response.status_code == 200, "fixture: the foreign code exchange failed", response)
            user = expect_json(response)
            fc = foreign.confidential
            response = http.post(real(token_url), data={"grant_type": "client_credentials"}, auth=(fc["client_id"], fc["client_secret"]))
            expect(response.status_code == 200, "fixture: the foreign client_credentials failed", response)
            return user, expect_json(response)["access_token"]

        fixture = suite.step("foreign Project/fixture: tokens from a Project with the same issuer string", foreign_tokens)
        if fixture:
            foreign_user, foreign_machine = fixture

            def foreign_userinfo():
                response = userinfo(foreign_user["access_token"])
                expect_error(response, 401, "invalid_token", "RFC 6750 §3.1: a foreign Project's access token")

            suite.step("foreign Project/user access token at userinfo -> 401 invalid_token", foreign_userinfo)

            def foreign_introspection():
                for label, token in (("user access token", foreign_user["access_token"]), ("client access token", foreign_machine),
                                     ("refresh token", foreign_user["refresh_token"])):
                    response = http.post(meta["introspection_endpoint"], data={"token": token}, auth=basic)
                    expect(response.status_code == 200 and expect_json(response) == {"active": False},
                           f"a foreign Project's {label} must introspect as inactive (RFC 7662 §2.2)", response)

            suite.step("foreign Project/tokens introspect inactive", foreign_introspection)

            def foreign_refresh():
                response = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": foreign_user["refresh_token"],
                                                      "client_id": pc["client_id"]})
                expect_error(response, 400, "invalid_grant", "RFC 6749 §5.2: a foreign Project's refresh token")

            suite.step("foreign Project/refresh token -> invalid_grant", foreign_refresh)

            def foreign_credentials():
                fc = foreign.confidential
                response = http.post(token_url, data={"grant_type": "client_credentials"}, auth=(fc["client_id"], fc["client_secret"]))
                expect_error(response, 401, "invalid_client", "RFC 6749 §5.2: a foreign Project's client")

            suite.step("foreign Project/client credentials -> 401 invalid_client", foreign_credentials)

            def foreign_access_check():
                response = http.post(demo.issuer + "/access/check", data={"token": foreign_user["access_token"], "permission": "read"},
                                     auth=basic)
                expect(response.status_code == 200 and expect_json(response).get("allowed") is False,
                       "the access check allowed a foreign Project's token", response)

            suite.step("foreign Project/access check refuses the token", foreign_access_check)
    else:
        print(f"     {SUITE}: foreign-Project checks not run (no --foreign-demo/--foreign-url)", flush=True)

    # ------------------------------------------------------------------ console-made fixtures
    console = load_console(args.console, demo, suite)
    if console is None:
        print(f"     {SUITE}: production-client and second-Project checks not run (no --console)", flush=True)
    else:
        project_id = demo.raw["project_id"]
        tag = secrets.token_hex(3)

        def other_issuer_tokens(issuer: str, client: dict, redirect_uri: str) -> dict:
            """Signs the demo user in at another issuer (same Workspace: the session is shared) and returns its tokens."""
            other_meta = expect_json(http.get(issuer + "/.well-known/openid-configuration"))
            verifier, challenge = pkce_pair()
            landing = browser.authorize(authorize_url(other_meta["authorization_endpoint"], response_type="code",
                                                      client_id=client["client_id"], redirect_uri=redirect_uri,
                                                      scope="openid email offline_access", state="o", code_challenge=challenge,
                                                      code_challenge_method="S256"))
            expect("code" in landing.params, f"fixture: no code at {issuer}: {landing.params}")
            response = http.post(other_meta["token_endpoint"], data={"grant_type": "authorization_code", "code": landing.params["code"],
                                                                     "redirect_uri": redirect_uri, "code_verifier": verifier},
                                 auth=(client["client_id"], client["client_secret"]))
            expect(response.status_code == 200, f"fixture: code exchange at {issuer}", response)
            user = expect_json(response)
            response = http.post(other_meta["token_endpoint"], data={"grant_type": "client_credentials"},
                                 auth=(client["client_id"], client["client_secret"]))
            expect(response.status_code == 200, f"fixture: client_credentials at {issuer}", response)
            user["machine_token"] = expect_json(response)["access_token"]
            user["meta"] = other_meta
            return user

        def refused_here(label: str, other: dict, client: dict, rule: str):
            """Nothing issued elsewhere is honoured by the demo sandbox, and the demo's tokens are not honoured there."""
            def userinfo_refused():
                expect_error(userinfo(other["access_token"]), 401, "invalid_token", f"RFC 6750 §3.1: {rule}")

            suite.step(f"{label}/user access token at userinfo -> 401 invalid_token", userinfo_refused)

            def introspection_inactive():
                for kind, token in (("user access token", other["access_token"]), ("client access token", other["machine_token"]),
                                    ("refresh token", other["refresh_token"])):
                    response = http.post(meta["introspection_endpoint"], data={"token": token}, auth=basic)
                    expect(response.status_code == 200 and expect_json(response) == {"active": False},
                           f"the {kind} must introspect inactive here (RFC 7662 §2.2; {rule})", response)

            suite.step(f"{label}/its tokens introspect inactive", introspection_inactive)

            def refresh_refused():
                response = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": other["refresh_token"]}, auth=basic)
                expect_error(response, 400, "invalid_grant", f"RFC 6749 §5.2: {rule}")

            suite.step(f"{label}/its refresh token -> invalid_grant", refresh_refused)

            def credentials_refused():
                response = http.post(token_url, data={"grant_type": "client_credentials"}, auth=(client["client_id"], client["client_secret"]))
                expect_error(response, 401, "invalid_client", f"RFC 6749 §5.2: {rule}")

            suite.step(f"{label}/its client credentials -> 401 invalid_client", credentials_refused)

            def access_check_refused():
                for token in (other["access_token"], other["machine_token"]):
                    response = http.post(demo.issuer + "/access/check", data={"token": token, "permission": "read"}, auth=basic)
                    expect(response.status_code == 200 and expect_json(response).get("allowed") is False,
                           f"the access check allowed a token of {label}", response)

            suite.step(f"{label}/access check refuses its tokens", access_check_refused)

            def reverse():
                mine = tokens()
                response = http.post(other["meta"]["introspection_endpoint"], data={"token": mine["access_token"]},
                                     auth=(client["client_id"], client["client_secret"]))
                expect(response.status_code == 200 and expect_json(response) == {"active": False},
                       f"the demo sandbox's access token must introspect inactive at {label} (RFC 7662 §2.2)", response)
                expect_error(userinfo(mine["access_token"], other["meta"]["userinfo_endpoint"]), 401, "invalid_token",
                             f"RFC 6750 §3.1: the demo sandbox's token at {label}")

            suite.step(f"{label}/the demo sandbox's tokens are refused there", reverse)

        def production_fixture():
            client = console.call("POST", f"/projects/{project_id}/environments/production/clients", {
                "client_name": "conformance production " + tag, "client_type": "confidential",
                "redirect_uris": ["http://127.0.0.1:9877/callback"], "first_party": True,
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"]}, 201)
            return client, other_issuer_tokens(production, client, "http://127.0.0.1:9877/callback")

        fixture = suite.step("production client/fixture (console) and its tokens", production_fixture)
        if fixture:
            prod_client, prod_tokens = fixture
            refused_here("production client", prod_tokens, prod_client, "sandbox and production never share credentials or audiences")

            def prod_redirect_at_sandbox():
                response = http.get(authorize_url(authz_url, response_type="code", client_id=prod_client["client_id"],
                                                  redirect_uri="http://127.0.0.1:9877/callback", scope="openid", state="s"),
                                    allow_redirects=False)
                no_redirect(response, "RFC 6749 §4.1.2.1: a production client is unknown in sandbox")

            suite.step("production client/its client_id at the sandbox authorize -> error page, no redirect", prod_redirect_at_sandbox)

        def second_project_fixture():
            project = console.call("POST", "/projects", {"slug": "conformance-" + tag, "name": "Conformance foreign " + tag,
                                                         "visibility": "private"}, 201)
            client = console.call("POST", f"/projects/{project['id']}/environments/sandbox/clients", {
                "client_name": "conformance foreign " + tag, "client_type": "confidential",
                "redirect_uris": ["http://127.0.0.1:9878/callback"], "first_party": True,
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"]}, 201)
            # Adding by email is an invite; the person accepts it to become a member.
            invite = console.call("POST", f"/projects/{project['id']}/members", {"email": demo.email}, 201)
            console.call("POST", "/invites/accept", {"token": invite["token"], "email": demo.email, "password": demo.password}, 200)
            issuer = demo.base_url + "/p/" + project["slug"] + "/sandbox"
            return client, other_issuer_tokens(issuer, client, "http://127.0.0.1:9878/callback")

        fixture = suite.step("second Project/fixture (console: same Workspace, same user) and its tokens", second_project_fixture)
        if fixture:
            refused_here("second Project", fixture[1], fixture[0], "a foreign Project's token (DESIGN: Project-scoped tokens)")

        def refresh_reuse_grace():
            def refresh(token: str):
                return http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": token}, auth=basic)

            console.call("PATCH", f"/projects/{project_id}/environments/sandbox", {"refresh_token_reuse_grace_seconds": 30}, 200)
            try:
                first_token = tokens()["refresh_token"]
                first = refresh(first_token)
                expect(first.status_code == 200, "the first refresh failed", first)
                lost = expect_json(first)["refresh_token"]
                retry = refresh(first_token)
                expect(retry.status_code == 200, "within the reuse grace, the rotated token's one retry must yield a fresh successor", retry)
                fresh = expect_json(retry)["refresh_token"]
                expect(fresh not in (lost, first_token), "the retry must yield a new refresh token", retry)
                expect_error(refresh(lost), 400, "invalid_grant", "the unused successor is revoked by the retry")
                expect_error(refresh(first_token), 400, "invalid_grant", "a second retry is reuse (Security BCP §4.14.2)")
                expect_error(refresh(fresh), 400, "invalid_grant", "reuse revokes the family, the retried successor with it")
            finally:
                console.call("PATCH", f"/projects/{project_id}/environments/sandbox", {"refresh_token_reuse_grace_seconds": 0}, 200)

        suite.step("token/refresh reuse grace: one retry yields a fresh successor, a second is reuse", refresh_reuse_grace)

    # ------------------------------------------------------------------ content types, duplicates, sizes
    def json_body(url: str, label: str):
        def check():
            response = http.post(url, json={"grant_type": "client_credentials", "token": "x"}, auth=basic)
            expect_error(response, 400, "invalid_request", f"RFC 6749 §3.2 / §5.2: {label} takes application/x-www-form-urlencoded; "
                                                           "the error code must be a registered one")
        suite.step(f"content type/{label} with a JSON body -> 400 invalid_request", check)

    json_body(token_url, "token")
    json_body(meta["revocation_endpoint"], "revoke")
    json_body(meta["introspection_endpoint"], "introspect")

    def form_with_charset():
        response = http.post(token_url, data="grant_type=client_credentials", auth=basic,
                             headers={"Content-Type": FORM + "; charset=UTF-8"})
        expect(response.status_code == 200, "a form body with charset=UTF-8 was refused", response)

    suite.step("content type/token form with charset=UTF-8 is accepted", form_with_charset)

    def register_form():
        response = http.post(meta["registration_endpoint"], data={"redirect_uris": demo.redirect_uri})
        expect_error(response, 400, "invalid_client_metadata", "RFC 7591 §3: the body is JSON; §3.2.2 error codes")

    if "registration_endpoint" in meta:
        suite.step("content type/register with a form body -> 400 invalid_client_metadata", register_form)

    def duplicate(url: str, body: str, label: str, auth=basic):
        def check():
            response = http.post(url, data=body, auth=auth, headers={"Content-Type": FORM})
            expect_error(response, 400, "invalid_request", "RFC 6749 §3.1 / §3.2: parameters must not be repeated")
        suite.step(f"duplicates/{label} -> invalid_request", check)

    duplicate(token_url, "grant_type=client_credentials&grant_type=client_credentials", "token grant_type twice")
    duplicate(token_url, "grant_type=authorization_code&code=a&code=b&redirect_uri=" + demo.redirect_uri, "token code twice")
    duplicate(meta["revocation_endpoint"], "token=a&token=b", "revoke token twice")
    duplicate(meta["introspection_endpoint"], "token=a&token=b", "introspect token twice")

    def oversized_token():
        body = "grant_type=client_credentials&padding=" + "a" * (256 * 1024)
        response = http.post(token_url, data=body, auth=basic, headers={"Content-Type": FORM})
        expect(response.status_code == 413, "an oversized body must be refused with 413 Content Too Large (RFC 9110 §15.5.14)", response)
        expect(expect_json(response).get("error"), "the 413 answer has no JSON error", response)
        expect(http.get(demo.base_url + "/healthz").status_code == 200, "the server is not healthy after an oversized body")

    suite.step("size/oversized token body -> 413", oversized_token)

    def oversized_register():
        if "registration_endpoint" not in meta:
            return
        body = '{"redirect_uris":["' + demo.redirect_uri + '"],"client_name":"' + "a" * (256 * 1024) + '"}'
        response = http.post(meta["registration_endpoint"], data=body, headers={"Content-Type": "application/json"})
        expect(response.status_code == 413, "an oversized registration must be refused with 413 (RFC 9110 §15.5.14)", response)

    suite.step("size/oversized registration body -> 413", oversized_register)

    # ------------------------------------------------------------------ bearer tokens
    def userinfo_without_token():
        response = http.get(meta["userinfo_endpoint"])
        expect(response.status_code == 401, "userinfo without a token must be 401 (RFC 6750 §3.1)", response)
        www = response.headers.get("WWW-Authenticate", "")
        expect(www.lower().startswith("bearer"), "401 without WWW-Authenticate: Bearer (RFC 6750 §3)", response)
        expect("error=" not in www, "no error code when the request has no authentication (RFC 6750 §3.1)", response)

    suite.step("userinfo/no token -> 401 WWW-Authenticate: Bearer without error", userinfo_without_token)

    def userinfo_garbage():
        response = userinfo("not.a.token")
        expect_error(response, 401, "invalid_token", "RFC 6750 §3.1")
        expect('error="invalid_token"' in response.headers.get("WWW-Authenticate", ""), "WWW-Authenticate error (RFC 6750 §3)", response)

    suite.step("userinfo/garbage token -> 401 invalid_token", userinfo_garbage)

    def userinfo_altered():
        issued = tokens()
        h, p, s = issued["access_token"].split(".")
        response = userinfo(".".join([h, p, s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB")]))
        expect_error(response, 401, "invalid_token", "RFC 6750 §3.1: altered signature")

    suite.step("userinfo/altered token -> 401 invalid_token", userinfo_altered)

    def userinfo_form_body():
        issued = tokens()
        response = http.post(meta["userinfo_endpoint"], data={"access_token": issued["access_token"]})
        expect(response.status_code == 200 and "sub" in expect_json(response),
               "userinfo must accept the form-encoded body parameter on POST (RFC 6750 §2.2, OIDC Core §5.3.1)", response)
        both = http.post(meta["userinfo_endpoint"], data={"access_token": issued["access_token"]},
                         headers={"Authorization": "Bearer " + issued["access_token"]})
        expect_error(both, 400, "invalid_request", "RFC 6750 §2 / §3.1: more than one method to send the token")

    suite.step("userinfo/token in the form body; two methods -> invalid_request", userinfo_form_body)

    def userinfo_without_openid():
        code, verifier, _ = authorize(scope="email", nonce=None)
        response = exchange(code, verifier)
        expect(response.status_code == 200, "a plain OAuth (no openid) code exchange failed", response)
        body = expect_json(response)
        expect("id_token" not in body, "an ID token was issued without the openid scope (OIDC Core §3.1.2.1)", response)
        expect_error(userinfo(body["access_token"]), 403, "insufficient_scope", "RFC 6750 §3.1 / OIDC Core §5.3: no openid scope")

    suite.step("userinfo/token without openid -> 403 insufficient_scope; no ID token", userinfo_without_openid)

    # ------------------------------------------------------------------ revocation, introspection
    def revoke_unknown():
        response = http.post(meta["revocation_endpoint"], data={"token": "lmb_rt_" + secrets.token_urlsafe(32)}, auth=basic)
        expect(response.status_code == 200, "revoking an unknown token must answer 200 (RFC 7009 §2.2)", response)

    suite.step("revoke/unknown token -> 200", revoke_unknown)

    def revoke_unauthenticated():
        response = http.post(meta["revocation_endpoint"], data={"token": "x"})
        expect_error(response, 401, "invalid_client", "RFC 7009 §2.1: the client must authenticate")

    suite.step("revoke/no client authentication -> 401 invalid_client", revoke_unauthenticated)

    def revoke_foreign():
        victim = tokens()
        attacker = http.post(meta["revocation_endpoint"], data={"token": victim["refresh_token"], "client_id": pc["client_id"]})
        expect(attacker.status_code in (200, 400, 401), "revocation by another client answered oddly", attacker)
        still = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": victim["refresh_token"]}, auth=basic)
        expect(still.status_code == 200, "another client revoked this client's refresh token (RFC 7009 §2.1: the token must be "
                                         "issued to the requesting client)", still)

    suite.step("revoke/another client's refresh token is not revoked", revoke_foreign)

    def revoke_wrong_hint():
        issued = tokens()
        response = http.post(meta["revocation_endpoint"], data={"token": issued["refresh_token"], "token_type_hint": "access_token"},
                             auth=basic)
        expect(response.status_code == 200, "revocation failed", response)
        after = http.post(token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}, auth=basic)
        expect_error(after, 400, "invalid_grant", "RFC 7009 §2.1: a wrong hint must not stop the search")

    suite.step("revoke/refresh token with hint access_token is still revoked", revoke_wrong_hint)

    def introspect_unauthenticated():
        response = http.post(meta["introspection_endpoint"], data={"token": "x"})
        expect_error(response, 401, "invalid_client", "RFC 7662 §2.1: the caller must be authorized")
        response = http.post(meta["introspection_endpoint"], data={"token": "x", "client_id": pc["client_id"]})
        expect_error(response, 401, "invalid_client", "RFC 7662 §2.1: a public client without credentials")

    suite.step("introspect/no or public-client authentication -> 401 invalid_client", introspect_unauthenticated)

    def introspect_garbage():
        response = http.post(meta["introspection_endpoint"], data={"token": "garbage"}, auth=basic)
        expect(response.status_code == 200 and expect_json(response) == {"active": False},
               "an unknown token must introspect as {\"active\": false} (RFC 7662 §2.2)", response)

    suite.step("introspect/unknown token -> active false", introspect_garbage)

    # ------------------------------------------------------------------ dynamic registration
    if "registration_endpoint" in meta:
        register_url = meta["registration_endpoint"]

        def registration_error(label: str, body, expected: str, rule: str):
            def check():
                if isinstance(body, str):
                    response = http.post(register_url, data=body, headers={"Content-Type": "application/json"})
                else:
                    response = http.post(register_url, json=body)
                expect_error(response, 400, expected, rule)
            suite.step(f"register/{label} -> {expected}", check)

        registration_error("non-loopback redirect_uri in the demo sandbox", {"redirect_uris": ["https://evil.example/cb"]},
                           "invalid_redirect_uri", "RFC 7591 §3.2.2")
        registration_error("redirect_uri with a fragment", {"redirect_uris": ["http://127.0.0.1:9876/cb#frag"]},
                           "invalid_redirect_uri", "RFC 7591 §3.2.2; RFC 6749 §3.1.2")
        registration_error("response_types token", {"redirect_uris": [demo.redirect_uri], "response_types": ["token"]},
                           "invalid_client_metadata", "RFC 7591 §3.2.2")
        registration_error("unknown token_endpoint_auth_method", {"redirect_uris": [demo.redirect_uri],
                                                                  "token_endpoint_auth_method": "tls_client_auth_x"},
                           "invalid_client_metadata", "RFC 7591 §3.2.2")
        registration_error("malformed JSON", '{"redirect_uris": [', "invalid_client_metadata", "RFC 7591 §3.2.2")
        registration_error("duplicate JSON member", '{"redirect_uris": ["' + demo.redirect_uri + '"], "redirect_uris": ["http://127.0.0.1:1/x"]}',
                           "invalid_client_metadata", "RFC 7591 §3.2.2 / RFC 8259 §4")

    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
