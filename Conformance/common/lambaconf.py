"""Shared helpers of Lamba's live conformance suites.

- `Suite`: named steps that print `PASS suite/step` or `FAIL suite/step: detail`
  (with the server's status and body when a response is involved), then
  `N passed, N failed`.
- `Demo`: the JSON object printed by `lamba demo --json` (issuer, clients, user).
- `Browser`: a scripted browser over `requests.Session` that walks Lamba's
  hosted pages (login, consent, join, account chooser, logout confirmation)
  like a person would: cookies and CSRF token included, no JavaScript.
- small HTTP helpers with bounded timeouts, PKCE, JWT peeking.

Every HTTP call has a timeout; nothing here talks to anything but the Lamba
under test (127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import html.parser
import json
import os
import re
import secrets
import sys
import traceback
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

TIMEOUT = float(os.environ.get("LAMBA_CONFORMANCE_TIMEOUT", "15"))
BODY_LIMIT = 600


# --------------------------------------------------------------------------
# Reporting

class CheckFailed(Exception):
    """A check's expectation did not hold; `response` is the server's answer."""

    def __init__(self, message: str, response: requests.Response | None = None):
        super().__init__(message)
        self.response = response


class Blocked(Exception):
    """Raised when a flow cannot continue because an earlier step failed."""


def describe(response: requests.Response | None) -> str:
    if response is None:
        return ""
    body = response.text if response.content else ""
    if "html" in response.headers.get("Content-Type", ""):
        # Hosted pages: keep the visible text (the error message), not the markup and styles.
        body = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", body, flags=re.S | re.I)
        body = "(html) " + html.unescape(re.sub(r"<[^>]+>", " ", body))
    body = " ".join(body.split())
    if len(body) > BODY_LIMIT:
        body = body[:BODY_LIMIT] + "…"
    www = response.headers.get("WWW-Authenticate")
    location = response.headers.get("Location")
    extra = ""
    if www:
        extra += f" WWW-Authenticate: {www};"
    if location:
        extra += f" Location: {location};"
    return f"[server: {response.request.method} {urllib.parse.urlsplit(response.url).path} -> HTTP {response.status_code};{extra} body: {body or '(empty)'}]"


class Suite:
    """Runs named steps; a failing step prints the suite, the step and the server's answer."""

    def __init__(self, name: str):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.last_response: requests.Response | None = None

    def step(self, name: str, fn: Callable[[], Any], required: bool = False) -> Any:
        """Runs one check. Returns its value, or None on failure (raises Blocked when required)."""
        self.last_response = None
        try:
            value = fn()
        except Blocked:
            raise
        except CheckFailed as error:
            # (a requests.Response is falsy for 4xx/5xx: compare with None)
            self._fail(name, str(error), error.response if error.response is not None else self.last_response)
            if required:
                raise Blocked(name)
            return None
        except Exception as error:  # a library raised: that is a failed check too
            detail = f"{type(error).__name__}: {error}"
            if os.environ.get("LAMBA_CONFORMANCE_TRACE"):
                detail += "\n" + traceback.format_exc()
            self._fail(name, detail, getattr(error, "response", None) if isinstance(getattr(error, "response", None), requests.Response)
                       else self.last_response)
            if required:
                raise Blocked(name)
            return None
        self.passed += 1
        print(f"PASS {self.name}/{name}", flush=True)
        return value

    def flow(self, name: str, fn: Callable[[], None]) -> None:
        """A group of dependent steps: after a required step fails, the rest are not run."""
        try:
            fn()
        except Blocked as blocked:
            print(f"     {self.name}/{name}: remaining steps not run (blocked by {blocked})", flush=True)
        except Exception as error:
            self._fail(name, f"unexpected {type(error).__name__}: {error}", self.last_response)

    def _fail(self, step: str, detail: str, response: requests.Response | None) -> None:
        self.failed += 1
        server = describe(response)
        print(f"FAIL {self.name}/{step}: {detail}" + (f" {server}" if server else ""), flush=True)

    def finish(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def expect(condition: bool, message: str, response: requests.Response | None = None) -> None:
    if not condition:
        raise CheckFailed(message, response)


def expect_json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise CheckFailed("the body is not JSON", response)
    if not isinstance(body, dict):
        raise CheckFailed("the body is not a JSON object", response)
    return body


def expect_error(response: requests.Response, status: int, error: str, rule: str) -> dict:
    """A JSON error response (RFC 6749 §5.2 shape) with exactly this status and `error`."""
    expect(response.status_code == status and "json" in response.headers.get("Content-Type", ""),
           f"expected HTTP {status} with a JSON error {error!r} ({rule})", response)
    body = expect_json(response)
    expect(body.get("error") == error, f"expected error={error!r} ({rule}), got {body.get('error')!r}", response)
    return body


def expect_redirect_error(location: str, base: str, error: str, state: str | None, issuer: str, rule: str) -> dict:
    """An authorization error sent back to the client's redirect URI with state and iss."""
    expect(location.startswith(base), f"expected a redirect to {base} ({rule}), got {location!r}")
    params = query_of(location)
    expect(params.get("error") == error, f"expected error={error!r} at the redirect URI ({rule}), got {params}")
    if state is not None:
        expect(params.get("state") == state, f"state not echoed in the error response (RFC 6749 §4.1.2.1): {params}")
    expect(params.get("iss") == issuer, f"iss missing or wrong in the error response (RFC 9207 §2): {params}")
    return params


# --------------------------------------------------------------------------
# The demo set-up

@dataclass
class Demo:
    raw: dict

    @property
    def issuer(self) -> str:
        return self.raw["issuer"]

    @property
    def base_url(self) -> str:
        parts = urllib.parse.urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def confidential(self) -> dict:
        return self.raw["confidential_client"]

    @property
    def public(self) -> dict:
        return self.raw["public_client"]

    @property
    def redirect_uri(self) -> str:
        return self.confidential["redirect_uris"][0]

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.raw["post_logout_redirect_uris"][0]

    @property
    def email(self) -> str:
        return self.raw["user"]["email"]

    @property
    def password(self) -> str:
        return self.raw["user"]["password"]

    def other_environment_issuer(self) -> str:
        """The production issuer of the demo Project (the demo's clients live in sandbox)."""
        env = self.raw.get("environment", "sandbox")
        other = "production" if env == "sandbox" else "sandbox"
        return self.issuer[: -len(env)] + other


def load_demo(path: str | None) -> Demo:
    path = path or os.environ.get("LAMBA_DEMO_JSON")
    if not path:
        sys.exit("no demo JSON: pass --demo FILE or set LAMBA_DEMO_JSON (the output of `lamba demo --json`)")
    with open(path, encoding="utf-8") as handle:
        return Demo(json.load(handle))


def suite_arguments(description: str, foreign: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--demo", help="file with the output of `lamba demo --json` (else $LAMBA_DEMO_JSON)")
    parser.add_argument("--console", default=os.environ.get("LAMBA_CONSOLE_JSON"),
                        help="`lamba bootstrap --json` of the demo Workspace (owner API key) for console-made fixtures "
                             "(else $LAMBA_CONSOLE_JSON); the checks that need it are skipped without it")
    if foreign:
        parser.add_argument("--foreign-demo", default=os.environ.get("LAMBA_FOREIGN_DEMO_JSON"),
                            help="`lamba demo --json` of another Lamba database whose public URL is the same as the server "
                                 "under test: its Project is foreign, yet its issuer string is identical")
        parser.add_argument("--foreign-url", default=os.environ.get("LAMBA_FOREIGN_URL"),
                            help="where that other Lamba actually listens")
    return parser.parse_args()


# --------------------------------------------------------------------------
# HTTP

class HTTP(requests.Session):
    """A requests.Session whose every call has a timeout and records the last response."""

    def __init__(self, suite: Suite | None = None):
        super().__init__()
        self.suite = suite
        self.headers["User-Agent"] = "lamba-conformance/1"

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", TIMEOUT)
        response = super().request(method, url, **kwargs)
        if self.suite is not None:
            self.suite.last_response = response
        return response


def discovery(demo: Demo, http: requests.Session | None = None) -> dict:
    response = (http or HTTP()).get(demo.raw.get("discovery") or demo.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT)
    expect(response.status_code == 200, "discovery did not answer 200", response)
    return expect_json(response)


def pkce_pair() -> tuple[str, str]:
    verifier = b64u(secrets.token_bytes(32))
    challenge = b64u(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS, unverified (for assertions about shape only)."""
    header, payload, _ = token.split(".")
    return json.loads(b64u_decode(header)), json.loads(b64u_decode(payload))


def query_of(url: str) -> dict:
    parts = urllib.parse.urlsplit(url)
    return dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def fragment_of(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).fragment, keep_blank_values=True))


def half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: left half of the hash named by alg (SHA-512 for EdDSA/Ed25519)."""
    digest = hashlib.sha512 if alg in ("EdDSA", "Ed25519") else getattr(hashlib, "sha" + alg[2:])
    full = digest(value.encode("ascii")).digest()
    return b64u(full[: len(full) // 2])


# --------------------------------------------------------------------------
# HTML forms

@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]]
    inputs: dict[str, str]
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def names(self) -> set[str]:
        return {name for name, _ in self.fields} | set(self.inputs)


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if tag == "form":
            self.current = Form(action=attributes.get("action", ""), method=attributes.get("method", "get").lower(),
                                fields=[], inputs={})
            self.forms.append(self.current)
        elif self.current is not None and tag == "input":
            name = attributes.get("name")
            if not name:
                return
            if attributes.get("type", "text").lower() == "hidden":
                self.current.fields.append((name, attributes.get("value", "")))
            else:
                self.current.inputs[name] = attributes.get("value", "")
        elif self.current is not None and tag == "button":
            if attributes.get("name"):
                self.current.buttons.append((attributes["name"], attributes.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def parse_forms(text: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(text)
    return parser.forms


# --------------------------------------------------------------------------
# The scripted browser

@dataclass
class Landing:
    """Where the browser ended: the client's redirect URI (Location not followed), or a form_post."""
    url: str
    params: dict
    pages: list[str]              # hosted pages seen on the way: login, consent, join, select-account
    form_post: bool = False

    def query(self) -> dict:
        return self.params


class Browser:
    """A person with a browser: follows Lamba's redirects, fills the hosted forms, stops at the client.

    `decisions`: consent 'allow' or 'deny'; account chooser 'continue' or 'switch'.
    """

    def __init__(self, demo: Demo, suite: Suite | None = None, email: str | None = None, password: str | None = None,
                 server_url: str | None = None):
        self.demo = demo
        # When the server listens elsewhere than its public URL (the foreign-Project fixture), requests
        # for the public URL go to server_url.
        self.server_url = server_url.rstrip("/") if server_url else None
        self.http = HTTP(suite)
        self.email = email or demo.email
        self.password = password or demo.password
        self.consent = "allow"
        self.select_account = "continue"

    def _ours(self, url: str) -> bool:
        return url.startswith(self.demo.base_url + "/") or bool(self.server_url and url.startswith(self.server_url + "/"))

    def _real(self, url: str) -> str:
        if self.server_url and url.startswith(self.demo.base_url + "/"):
            return self.server_url + url[len(self.demo.base_url):]
        return url

    def authorize(self, url: str, max_hops: int = 12) -> Landing:
        """Runs an authorization request to its end and returns the response sent to the client."""
        pages: list[str] = []
        response = self.http.get(self._real(url), allow_redirects=False)
        for _ in range(max_hops):
            if response.status_code in (301, 302, 303, 307, 308):
                location = urllib.parse.urljoin(response.url, response.headers.get("Location", ""))
                if not self._ours(location):
                    params = query_of(location)
                    params.update(fragment_of(location))
                    return Landing(url=location, params=params, pages=pages)
                response = self.http.get(self._real(location), allow_redirects=False)
                continue
            if response.status_code != 200 or "html" not in response.headers.get("Content-Type", ""):
                raise CheckFailed("the authorization flow stopped on an unexpected answer", response)
            forms = parse_forms(response.text)
            if not forms:
                raise CheckFailed("a hosted page without a form", response)
            form = forms[0]
            action = urllib.parse.urljoin(response.url, form.action)
            if not self._ours(action):
                # Form Post Response Mode §2: the auto-submitting form addressed to the client.
                return Landing(url=action, params=dict(form.fields), pages=pages, form_post=True)
            page = urllib.parse.urlsplit(action).path.rsplit("/", 1)[-1]
            pages.append(page)
            data = list(form.fields)
            if page == "login":
                data += [("email", self.email), ("password", self.password)]
            elif page == "consent":
                data.append(("decision", self.consent))
            elif page == "select-account":
                data.append(("action", self.select_account))
            elif page == "logout":
                pass
            response = self.http.post(self._real(action), data=data, allow_redirects=False)
            if page == "login" and response.status_code == 401:
                raise CheckFailed("the hosted login refused the demo user's credentials", response)
        raise CheckFailed("too many hops in the authorization flow", response)

    def logout(self, url: str) -> requests.Response:
        """RP-initiated logout: GET the end-session URL, confirm on the page, return the final answer."""
        response = self.http.get(url, allow_redirects=False)
        if response.status_code != 200:
            return response
        forms = parse_forms(response.text)
        if not forms:
            raise CheckFailed("the logout page has no confirmation form", response)
        form = forms[0]
        return self.http.post(urllib.parse.urljoin(response.url, form.action), data=list(form.fields), allow_redirects=False)


def authorize_url(endpoint: str, **params: str) -> str:
    return endpoint + "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def register_client(demo: Demo, metadata: dict, http: requests.Session | None = None) -> dict:
    """RFC 7591 registration at the demo issuer (loopback redirect URIs only in the demo sandbox)."""
    meta = discovery(demo, http)
    endpoint = meta.get("registration_endpoint")
    expect(endpoint is not None, "discovery does not advertise registration_endpoint (dynamic registration is off)")
    response = (http or HTTP()).post(endpoint, json=metadata, timeout=TIMEOUT)
    expect(response.status_code == 201, "client registration did not answer 201 Created (RFC 7591 §3.2.1)", response)
    return expect_json(response)


# --------------------------------------------------------------------------
# The console API (Workspace API key from `lamba bootstrap`), for fixtures the demo lacks

class Console:
    """`/console/v1` with the demo Workspace's owner API key; None when no key was given."""

    def __init__(self, base_url: str, api_key: str, suite: Suite | None = None):
        self.base = base_url.rstrip("/") + "/console/v1"
        self.http = HTTP(suite)
        self.http.headers["Authorization"] = "Bearer " + api_key

    def call(self, method: str, path: str, body: dict | None = None, expected: int | tuple = (200, 201)) -> dict:
        response = self.http.request(method, self.base + path, json=body)
        wanted = expected if isinstance(expected, tuple) else (expected,)
        expect(response.status_code in wanted, f"console {method} {path} failed", response)
        return response.json() if response.content else {}

    def set_access_token_algorithm(self, project_id: str, environment: str, alg: str) -> dict:
        return self.call("PATCH", f"/projects/{project_id}/environments/{environment}", {"access_token_algorithm": alg}, 200)

    def environment(self, project_id: str, environment: str) -> dict:
        return self.call("GET", f"/projects/{project_id}/environments/{environment}", None, 200)


def load_console(path: str | None, demo: Demo, suite: Suite | None = None) -> Console | None:
    """The console fixture: a JSON file with `api_key` (the output of `lamba bootstrap --json`)."""
    path = path or os.environ.get("LAMBA_CONSOLE_JSON")
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    return Console(raw.get("base_url") or demo.base_url, raw["api_key"], suite)
