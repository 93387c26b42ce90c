"""Passkeys in a real browser: headless Chromium with its virtual authenticator (WebDriver's
WebAuthn extension, through selenium) registers a passkey on Lamba's hosted account page and signs
in with it on the hosted login page. The ID token is checked with PyJWT against the JWKS; a
replayed assertion, hostile credentials and a removed passkey are refused.

The server must run under http://localhost:PORT (an IP address can never be a WebAuthn RP ID):
Conformance/run starts one for this suite on each store.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import jwt  # PyJWT
import requests
from lambaconf import HTTP, CheckFailed, Suite, authorize_url, discovery, expect, expect_json, load_console, load_demo, \
    parse_forms, pkce_pair, query_of, suite_arguments
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20


def chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     # localhost is 127.0.0.1 here, whatever /etc/hosts says about ::1.
                     "--host-resolver-rules=MAP localhost 127.0.0.1"):
        options.add_argument(argument)
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


def main() -> int:
    args = suite_arguments("passkeys in headless Chromium with a virtual authenticator")
    suite = Suite("passkeys")
    demo = load_demo(args.demo)
    console = load_console(args.console, demo, suite)
    if console is None:
        sys.exit("passkeys: needs --console (the owner API key) to turn passkey sign-in on")
    http = HTTP(suite)
    metadata = discovery(demo, http)
    project_id, environment = demo.raw["project_id"], demo.raw.get("environment", "sandbox")
    client = demo.confidential
    state: dict = {}

    def authorize_in_browser(driver, use_passkey: bool, capture: bool = False) -> str:
        verifier, challenge = pkce_pair()
        state["verifier"] = verifier
        driver.get(authorize_url(metadata["authorization_endpoint"], response_type="code", client_id=client["client_id"],
                                 redirect_uri=demo.redirect_uri, scope="openid email profile", state="st", nonce="nn",
                                 code_challenge=challenge, code_challenge_method="S256"))
        WebDriverWait(driver, WAIT).until(lambda d: "/login" in d.current_url)
        if use_passkey:
            if capture:
                # Keep what the page posts, to replay it afterwards.
                driver.execute_script("""
                    const form = document.getElementById("passkey");
                    form.submit = function () {
                      localStorage.setItem("posted", JSON.stringify(Array.from(new FormData(form).entries())));
                      HTMLFormElement.prototype.submit.call(form);
                    };""")
            driver.find_element(By.CSS_SELECTOR, "button[data-passkey]").click()
        else:
            driver.find_element(By.ID, "email").send_keys(demo.email)
            driver.find_element(By.ID, "password").send_keys(demo.password)
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(driver, WAIT).until(lambda d: d.current_url.startswith(demo.redirect_uri)
                                          or bool(d.find_elements(By.CSS_SELECTOR, "p.error[role=alert], #passkey-status:not(:empty)")))
        return driver.current_url

    def exchange(landing: str) -> dict:
        params = query_of(landing)
        expect("code" in params, f"no code at the redirect URI: {landing}")
        response = http.post(metadata["token_endpoint"], data={
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": demo.redirect_uri,
            "code_verifier": state["verifier"]}, auth=(client["client_id"], client["client_secret"]))
        expect(response.status_code == 200, "the code was not exchanged", response)
        return expect_json(response)

    def id_token_claims(tokens: dict) -> dict:
        keys = jwt.PyJWKClient(metadata["jwks_uri"])
        key = keys.get_signing_key_from_jwt(tokens["id_token"])
        return jwt.decode(tokens["id_token"], key.key, algorithms=metadata["id_token_signing_alg_values_supported"],
                          audience=client["client_id"], issuer=demo.issuer)

    def turn_on():
        current = console.environment(project_id, environment)
        methods = list(dict.fromkeys(current["auth_methods"] + ["passkey"]))
        changed = console.call("PATCH", f"/projects/{project_id}/environments/{environment}", {"auth_methods": methods}, 200)
        expect("passkey" in changed["auth_methods"], f"passkey not in the environment's auth_methods: {changed}")

    suite.step("console turns passkey sign-in on", turn_on, required=True)

    driver = chromium()
    try:
        authenticator = VirtualAuthenticatorOptions()
        authenticator.protocol = VirtualAuthenticatorOptions.Protocol.CTAP2
        authenticator.transport = VirtualAuthenticatorOptions.Transport.INTERNAL
        authenticator.has_resident_key = True
        authenticator.has_user_verification = True
        authenticator.is_user_verified = True
        authenticator.is_user_consenting = True
        driver.add_virtual_authenticator(authenticator)

        def flow():
            def password_sign_in():
                landing = authorize_in_browser(driver, use_passkey=False)
                expect(landing.startswith(demo.redirect_uri), f"the password sign-in did not reach the client: {landing}")

            suite.step("sign in with the password first", password_sign_in, required=True)

            def register():
                driver.get(demo.issuer + "/account/passkeys")
                csp = driver.execute_script("return document.querySelector('script[nonce]') !== null")
                expect(csp, "the account page has no nonce'd script")
                driver.find_element(By.ID, "name").send_keys("Chromium virtual authenticator")
                driver.find_element(By.CSS_SELECTOR, "button[data-passkey]").click()
                WebDriverWait(driver, WAIT).until(lambda d: "notice=" in d.current_url
                                                  or d.find_element(By.ID, "passkey-status").text != "")
                page = driver.find_element(By.TAG_NAME, "main").text
                expect("Passkey added." in page and "Chromium virtual authenticator" in page, f"the passkey was not added: {page}")
                credentials = driver.get_credentials()
                expect(len(credentials) == 1 and credentials[0].is_resident_credential and credentials[0].rp_id == "localhost",
                       f"the virtual authenticator holds no discoverable credential for localhost: {credentials}")

            suite.step("register a passkey on the account page (WebAuthn L3 §7.1)", register, required=True)

            def second_registration_excluded():
                # excludeCredentials names the passkey just made: the same authenticator cannot register twice.
                driver.get(demo.issuer + "/account/passkeys")
                options = json.loads(driver.find_element(By.ID, "passkey").get_attribute("data-options"))
                expect(len(options["excludeCredentials"]) == 1, f"excludeCredentials: {options['excludeCredentials']}")
                expect(options["rp"]["id"] == "localhost" and options["authenticatorSelection"]["residentKey"] == "required",
                       f"creation options: {options}")

            suite.step("creation options exclude the registered passkey (WebAuthn L3 §5.4)", second_registration_excluded)

            def passkey_sign_in():
                driver.delete_all_cookies()
                driver.execute_script("localStorage.clear()")
                landing = authorize_in_browser(driver, use_passkey=True, capture=True)
                expect(landing.startswith(demo.redirect_uri), f"the passkey sign-in did not reach the client: {landing} "
                                                              f"{driver.find_element(By.TAG_NAME, 'body').text[:300]}")
                tokens = exchange(landing)
                claims = id_token_claims(tokens)
                amr = claims.get("amr", [])
                expect("user" in amr and "mfa" in amr and ("hwk" in amr or "swk" in amr) and "pwd" not in amr,
                       f"amr does not say what the passkey proved (RFC 8176 §2): {amr}")
                expect(claims.get("acr") == "urn:lamba:acr:multi-factor", f"acr: {claims.get('acr')}")
                expect(claims.get("email") == demo.email, f"the passkey signed in someone else: {claims}")
                state["access_token"] = tokens["access_token"]

            suite.step("sign in with the passkey alone: ID token amr and acr (WebAuthn L3 §7.2)", passkey_sign_in, required=True)

            def replay():
                driver.get(demo.issuer + "/account/passkeys")
                posted = json.loads(driver.execute_script("return localStorage.getItem('posted')") or "[]")
                expect(any(name == "credential" for name, _ in posted), f"the page posted no credential: {posted}")
                cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
                replayer = requests.Session()
                response = replayer.post(demo.issuer + "/login", data=posted, cookies={"lamba_csrf": cookies.get("lamba_csrf", "")},
                                         allow_redirects=False, timeout=15)
                expect(response.status_code == 400 and "Location" not in response.headers and "html" in response.headers.get("Content-Type", ""),
                       "a replayed assertion was not refused", response)
                expect("could not sign you in" in response.text or "used already" in response.text, "the refusal does not say why", response)
                state["posted"] = posted
                state["csrf_cookie"] = cookies.get("lamba_csrf", "")

            suite.step("a replayed assertion is refused (single-use challenge)", replay)

            def hostile():
                posted = dict(state.get("posted") or [])
                expect(bool(posted), "nothing captured to vary")
                for credential in ("{", "[]", json.dumps({"type": "public-key", "rawId": "!!", "response": {}}),
                                   json.dumps({"type": "public-key", "rawId": "AAAA", "response": {
                                       "clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"}}),
                                   "x" * 40000):
                    data = dict(posted, credential=credential)
                    response = requests.post(demo.issuer + "/login", data=data, cookies={"lamba_csrf": state["csrf_cookie"]},
                                             allow_redirects=False, timeout=15)
                    expect(response.status_code in (400, 413) and "Location" not in response.headers,
                           f"hostile credential {credential[:40]!r} was not refused cleanly", response)
                data = dict(posted, ceremony="not-a-sealed-challenge")
                response = requests.post(demo.issuer + "/login", data=data, cookies={"lamba_csrf": state["csrf_cookie"]},
                                         allow_redirects=False, timeout=15)
                expect(response.status_code == 400 and "expired or is not valid" in response.text, "a forged challenge was not refused", response)

            suite.step("hostile credentials and forged challenges are refused, never a 500", hostile)

            def passkey_only_sign_up():
                # An environment whose only way in is a passkey: sign-up makes the account with one.
                before = console.environment(project_id, environment)
                console.call("PATCH", f"/projects/{project_id}/environments/{environment}",
                             {"auth_methods": ["passkey"], "allow_register": True}, 200)
                other = chromium()
                try:
                    other.add_virtual_authenticator(authenticator)
                    verifier, challenge = pkce_pair()
                    state["verifier"] = verifier
                    other.get(authorize_url(metadata["authorization_endpoint"], response_type="code", client_id=client["client_id"],
                                            redirect_uri=demo.redirect_uri, scope="openid email profile", state="su", nonce="ns",
                                            code_challenge=challenge, code_challenge_method="S256"))
                    WebDriverWait(other, WAIT).until(lambda d: "/login" in d.current_url)
                    expect(not other.find_elements(By.ID, "password"), "a passkey-only login page asks for a password")
                    other.find_element(By.CSS_SELECTOR, "a[href*='/signup?']").click()
                    WebDriverWait(other, WAIT).until(lambda d: "/signup" in d.current_url)
                    expect(not other.find_elements(By.ID, "password"), "a passkey-only sign-up page asks for a password")
                    other.find_element(By.ID, "name").send_keys("Pat Passkey")
                    other.find_element(By.ID, "email").send_keys("pat.passkey@example.com")
                    other.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
                    WebDriverWait(other, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-passkey]")
                                                     or d.find_elements(By.CSS_SELECTOR, "p.error[role=alert]"))
                    page = other.find_element(By.TAG_NAME, "main").text
                    expect("pat.passkey@example.com" in page and "Create your passkey" in page, f"no passkey step: {page[:300]}")
                    other.find_element(By.CSS_SELECTOR, "button[data-passkey]").click()
                    WebDriverWait(other, WAIT).until(lambda d: d.current_url.startswith(demo.redirect_uri)
                                                     or bool(d.find_elements(By.CSS_SELECTOR, "p.error[role=alert], #passkey-status:not(:empty)")))
                    landing = other.current_url
                    expect(landing.startswith(demo.redirect_uri),
                           f"the sign-up did not reach the client: {landing} {other.find_element(By.TAG_NAME, 'body').text[:300]}")
                    claims = id_token_claims(exchange(landing))
                    amr = claims.get("amr", [])
                    expect(claims.get("email") == "pat.passkey@example.com" and claims.get("email_verified") is False,
                           f"the ID token is not the new account's: {claims}")
                    expect(("hwk" in amr or "swk" in amr) and "pwd" not in amr, f"amr of a passkey sign-up: {amr}")
                    credentials = other.get_credentials()
                    expect(len(credentials) == 1 and credentials[0].is_resident_credential and credentials[0].user_handle is not None,
                           f"the authenticator holds no discoverable credential for the new account: {credentials}")
                    # The user handle is the account's opaque id, never its email (WebAuthn L3 §14.6.1).
                    handle = base64.urlsafe_b64decode(credentials[0].user_handle).decode(errors="replace")
                    expect(handle == claims["sub"], f"the passkey's user handle {handle!r} is not the new account's sub {claims['sub']!r}")
                finally:
                    other.quit()
                    console.call("PATCH", f"/projects/{project_id}/environments/{environment}",
                                 {"auth_methods": before["auth_methods"], "allow_register": before["allow_register"]}, 200)

            suite.step("passkey-only environment: sign-up makes the account with a passkey, no password", passkey_only_sign_up)

            def self_service():
                bearer = {"Authorization": "Bearer " + state["access_token"]}
                listed = expect_json(http.get(demo.issuer + "/me/passkeys", headers=bearer))
                expect(len(listed["passkeys"]) == 1 and listed["enabled"] is True and listed["add_url"].endswith("/account/passkeys"),
                       f"/me/passkeys: {listed}")
                me = expect_json(http.get(demo.issuer + "/me", headers=bearer))
                expect("passkey" in me["sign_in_methods"], f"/me sign_in_methods: {me['sign_in_methods']}")
                foreign = http.delete(demo.issuer + "/me/passkeys/pk_someone-elses", headers=bearer)
                expect(foreign.status_code == 404, "an unknown passkey id was not a 404", foreign)
                removed = http.delete(demo.issuer + "/me/passkeys/" + listed["passkeys"][0]["id"], headers=bearer)
                expect(removed.status_code == 204, "the passkey was not removed", removed)
                after = expect_json(http.get(demo.issuer + "/me/passkeys", headers=bearer))
                expect(after["passkeys"] == [], f"the passkey is still listed: {after}")

            suite.step("/me/passkeys lists and removes the passkey", self_service)

            def removed_passkey_refused():
                driver.delete_all_cookies()
                landing = authorize_in_browser(driver, use_passkey=True)
                expect(not landing.startswith(demo.redirect_uri), f"a removed passkey still signed in: {landing}")
                text = driver.find_element(By.TAG_NAME, "main").text
                expect("could not sign you in" in text, f"the login page does not say the passkey failed: {text[:300]}")

            suite.step("a removed passkey signs nobody in", removed_passkey_refused)

        suite.flow("ceremonies", flow)
    finally:
        driver.quit()
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
