#!/usr/bin/env python3
"""Hosted sign-ins per second against a running `lamba serve` with the demo data set, with and
without an authenticator app (TOTP), in interleaved rounds.

A sign-in is what a browser does from `/authorize` until the client's redirect carries a code:
authorize -> login page -> POST email and password (Argon2id) -> authorize -> code, and for users
with an app also: second-factor page -> POST the current code -> authorize -> code. Every sign-in
uses its own cookie jar. Each user signs in once per run: a TOTP code works once (RFC 6238 §5.2),
so the TOTP rounds need a user per sign-in. Set-up registers the users through the hosted sign-up
page and enrols half of them through /me/factors/totp, as an application would.

usage: signin_bench.py BASE DEMO_JSON USERS_PER_ROUND ROUNDS WORKERS
prints one line per round and mode, then JSON with every figure."""
import base64, concurrent.futures, hashlib, hmac, html, http.client, json, re, struct, sys, time, urllib.parse

base, demo_path = sys.argv[1], sys.argv[2]
per_round, rounds, workers = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
demo = json.load(open(demo_path))
issuer = demo["issuer"]
target = urllib.parse.urlparse(base)
client = demo["confidential_client"]
basic = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
query = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"], "redirect_uri": client["redirect_uris"][0],
                                "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Browser:
    def __init__(self):
        self.cookies = {}
        self.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)

    def call(self, method, url, body=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        path = url[len(base):] if url.startswith(base) else url
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read().decode()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, value = v.split(";")[0].split("=", 1)
                self.cookies[name] = value
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def follow(self, headers):
        return self.call("GET", headers["location"])


def field(page, name):
    return html.unescape(re.search(f'name="{name}" value="([^"]*)"', page).group(1))


def totp(secret, step):
    mac = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def code_from(location):
    assert location.startswith(client["redirect_uris"][0]), location
    return urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]


def register(email, password, enrol):
    """Hosted sign-up, a token, and (when `enrol`) an authenticator app through /me/factors/totp."""
    b = Browser()
    _, h, _ = b.call("GET", issuer + "/authorize?" + query)
    _, h, page = b.follow(h)
    signup = html.unescape(re.search(r'href="([^"]*/signup\?[^"]*)"', page).group(1))
    _, _, page = b.call("GET", signup)
    form = urllib.parse.urlencode({"csrf_token": field(page, "csrf_token"), "authz": field(page, "authz"), "name": "Bench",
                                   "email": email, "password": password})
    status, h, body = b.call("POST", issuer + "/signup", form, FORM)
    assert status == 303, (status, body[:300])
    _, h, _ = b.follow(h)
    if not enrol:
        return None
    token_body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code_from(h["location"]),
                                         "redirect_uri": client["redirect_uris"][0], "code_verifier": verifier})
    status, _, data = b.call("POST", issuer + "/token", token_body, {**FORM, "Authorization": basic})
    assert status == 200, data
    bearer = {"Authorization": "Bearer " + json.loads(data)["access_token"]}
    status, _, data = b.call("POST", issuer + "/me/factors/totp", None, bearer)
    assert status == 201, data
    secret = base64.b32decode(json.loads(data)["secret"] + "=" * (-len(json.loads(data)["secret"]) % 8))
    step = int(time.time()) // 30
    status, _, data = b.call("POST", issuer + "/me/factors/totp/confirm", urllib.parse.urlencode({"code": totp(secret, step)}), {**bearer, **FORM})
    assert status == 200, data
    return (secret, step)


def sign_in(user):
    email, password, app = user
    b = Browser()
    _, h, _ = b.call("GET", issuer + "/authorize?" + query)
    _, h, page = b.follow(h)
    form = urllib.parse.urlencode({"csrf_token": field(page, "csrf_token"), "authz": field(page, "authz"), "email": email, "password": password})
    status, h, body = b.call("POST", issuer + "/login", form, FORM)
    assert status == 303, (status, body[:200])
    _, h, _ = b.follow(h)
    if app is not None:
        secret, used = app
        assert "/second-factor?" in h["location"], h["location"]
        _, _, page = b.follow(h)
        # The next step not used yet: the confirming code spent the enrolment's step.
        step = max(int(time.time()) // 30, used + 1)
        form = urllib.parse.urlencode({"csrf_token": field(page, "csrf_token"), "authz": field(page, "authz"), "code": totp(secret, step)})
        status, h, body = b.call("POST", issuer + "/second-factor", form, FORM)
        assert status == 303, (status, body[:300])
        _, h, _ = b.follow(h)
    code_from(h["location"])


def timed(users):
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(sign_in, users))
    return len(users) / (time.monotonic() - start)


password = "bench password 1"
stamp = int(time.time())
setup_start = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    plain = [(f"plain-{stamp}-{i}@bench.example", password) for i in range(per_round * rounds)]
    with_app = [(f"totp-{stamp}-{i}@bench.example", password) for i in range(per_round * rounds)]
    list(pool.map(lambda u: register(u[0], u[1], False), plain))
    apps = list(pool.map(lambda u: register(u[0], u[1], True), with_app))
print(f"set-up: {len(plain) + len(with_app)} users registered, {len(apps)} apps enrolled in {time.monotonic() - setup_start:.1f} s", flush=True)
# The enrolment spent its step; wait for a fresh one so every user has a usable code.
time.sleep(30 - time.time() % 30 + 0.5)
results = {"password": [], "password+totp": []}
for r in range(rounds):
    chunk = slice(r * per_round, (r + 1) * per_round)
    results["password"].append(timed([(e, p, None) for e, p in plain[chunk]]))
    results["password+totp"].append(timed([(e, p, a) for (e, p), a in zip(with_app[chunk], apps[chunk])]))
    print(f"round {r + 1}: password {results['password'][-1]:.1f} sign-ins/s, password+totp {results['password+totp'][-1]:.1f} sign-ins/s", flush=True)
print(json.dumps(results))
