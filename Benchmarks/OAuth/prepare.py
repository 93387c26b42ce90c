#!/usr/bin/env python3
"""Prepares token material for the OAuth benchmarks against a running `lamba serve`:
signs the demo user in through the hosted login page (CSRF cookie + form), then runs
authorize -> code -> token N times in that session, so each wrk connection owns its own
refresh token family. Prints JSON: client credentials, N refresh tokens, one access token."""
import base64, hashlib, html, http.client, json, os, re, sys, urllib.parse

base, demo_json, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
demo = json.load(open(demo_json))
issuer = demo["issuer"]
u = urllib.parse.urlparse(base)
client_id = demo["confidential_client"]["client_id"]
secret = demo["confidential_client"]["client_secret"]
redirect = demo["confidential_client"]["redirect_uris"][0]
cookies = {}
verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

def call(method, url, body=None, headers=None):
    conn = http.client.HTTPConnection(u.hostname, u.port)
    h = dict(headers or {})
    if cookies: h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    path = url[len(base):] if url.startswith(base) else url
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read().decode()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            name, value = v.split(";")[0].split("=", 1)
            cookies[name] = value
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

query = urllib.parse.urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                                "scope": os.environ.get("SCOPE", "offline_access"), "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
status, headers, _ = call("GET", issuer + "/authorize?" + query)
status, headers, page = call("GET", headers["location"])
field = lambda name: html.unescape(re.search(f'name="{name}" value="([^"]*)"', page).group(1))
form = urllib.parse.urlencode({"csrf_token": field("csrf_token"), "authz": field("authz"),
                               "email": demo["user"]["email"], "password": demo["user"]["password"]})
status, headers, _ = call("POST", issuer + "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
assert status == 303, status
basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
refresh, access = [], None
for _ in range(count):
    status, headers, _ = call("GET", issuer + "/authorize?" + query)
    location = headers["location"]
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier})
    status, _, data = call("POST", issuer + "/token", body, {"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic})
    assert status == 200, data
    tokens = json.loads(data)
    refresh.append(tokens["refresh_token"])
    access = tokens["access_token"]
print(json.dumps({"basic": basic, "refresh_tokens": refresh, "access_token": access}))
