"""Faults Lamba must survive, each reported as one line (`PASS fault [store] numbers` / `FAIL …`).

  kill9-refresh   kill -9 during a burst of refresh rotations; after the restart every refresh-token
                  family has exactly one usable token (database and token endpoint agree), reuse
                  detection still works, and SQLite's `PRAGMA integrity_check` is ok
  pg-outage       PostgreSQL stopped (fast, then immediate) and started again under load: every route
                  class answers 200 or 503 `temporarily_unavailable` with `Retry-After`, never another
                  status, and recovers without a restart of Lamba
  sqlite-full     the SQLite file's filesystem fills up: writes answer 503 with `Retry-After`, nothing is
                  half-written, reads keep working, writes work again once space is freed
  webhooks        receivers refuse (503) and then are down (connection refused) for a while: every
                  delivery arrives once they are back, byte-identical to every earlier attempt, signed
  soak            mixed load (sign-ins, code exchanges, refresh, userinfo, introspection,
                  client_credentials, discovery, JWKS, console reads and writes) with RSS sampled

FAULTS_QUICK=1 shortens every fault (the CI mode: a few minutes in all). Loopback only.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import hmac
import http.server
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

from harness import Server, Store, bootstrap, demo as make_demo

import requests
from lambaconf import Browser, Demo, authorize_url, b64u, pkce_pair  # noqa: E402

QUICK = os.environ.get("FAULTS_QUICK", "") not in ("", "0")
TIMEOUT = 15
results: list[tuple[bool, str]] = []


def report(ok: bool, fault: str, store: str, detail: str) -> None:
    line = f"{'PASS' if ok else 'FAIL'} {fault} [{store}] {detail}"
    results.append((ok, line))
    print(line, flush=True)


def note(text: str) -> None:
    print(f"     {text}", flush=True)


def token_hash(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


# ---------------------------------------------------------------------------
# A running Lamba with its demo data.

class Lamba:
    def __init__(self, lamba: str, kind: str, scratch: str, env: dict | None = None, sqlite_path: str | None = None):
        self.scratch = tempfile.mkdtemp(prefix=f"{kind}-", dir=scratch)
        os.chmod(self.scratch, 0o755)
        self.env = dict(os.environ)
        self.env.setdefault("LAMBA_MASTER_KEY", os.urandom(32).hex())
        self.env["LAMBA_KEYS_DIR"] = os.path.join(self.scratch, "keys")
        self.env["LAMBA_LOG_LEVEL"] = self.env.get("FAULTS_LOG_LEVEL", "warning")
        self.env.update(env or {})
        self.kind = kind
        self.store = Store(kind, self.scratch, sqlite_path)
        self.console_json = bootstrap(lamba, self.store, self.env)
        self.server = Server(lamba, self.store, self.scratch, self.env)
        self.server.start()
        self.demo = Demo(make_demo(lamba, self.store, self.server, self.env))
        self.meta = requests.get(self.demo.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
        self.conf = (self.demo.confidential["client_id"], self.demo.confidential["client_secret"])
        self.console = requests.Session()
        self.console.headers["Authorization"] = "Bearer " + self.console_json["api_key"]
        self.project = self.demo.raw["project_id"]
        self.env_path = f"{self.server.url}/console/v1/projects/{self.project}/environments/sandbox"

    def sign_in(self, session: requests.Session | None = None) -> dict:
        browser = Browser(self.demo)
        verifier, challenge = pkce_pair()
        landing = browser.authorize(authorize_url(self.meta["authorization_endpoint"], response_type="code", client_id=self.conf[0],
                                                  redirect_uri=self.demo.redirect_uri, scope="openid offline_access",
                                                  state=b64u(os.urandom(6)), nonce=b64u(os.urandom(6)), code_challenge=challenge,
                                                  code_challenge_method="S256"))
        response = (session or requests).post(self.meta["token_endpoint"], auth=self.conf, timeout=TIMEOUT, data={
            "grant_type": "authorization_code", "code": landing.params["code"], "redirect_uri": self.demo.redirect_uri,
            "code_verifier": verifier})
        if response.status_code != 200:
            raise RuntimeError(f"code exchange answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def refresh(self, token: str, session: requests.Session | None = None, timeout: float = TIMEOUT) -> requests.Response:
        return (session or requests).post(self.meta["token_endpoint"], auth=self.conf, timeout=timeout,
                                          data={"grant_type": "refresh_token", "refresh_token": token})

    def close(self) -> None:
        self.server.stop()
        self.store.close()


# ---------------------------------------------------------------------------
# kill -9 during refresh rotations

def kill9_refresh(lamba: str, kind: str, scratch: str) -> None:
    families = 8 if QUICK else 24
    cycles = 1 if QUICK else 3
    system = Lamba(lamba, kind, scratch)
    try:
        held: dict[int, list[str]] = {}
        for f in range(families):
            held[f] = [system.sign_in()["refresh_token"]]
        family_of = {}
        for f, tokens in held.items():
            rows = system.store.query(f"SELECT family_id FROM refresh_tokens WHERE token_hash = '{token_hash(tokens[0])}'")
            family_of[f] = rows[0][0]
        problems: list[str] = []
        rotations = lost_responses = 0
        for cycle in range(cycles):
            stop = threading.Event()
            counts = [0] * families

            def worker(f: int) -> None:
                session = requests.Session()
                while not stop.is_set():
                    try:
                        response = system.refresh(held[f][-1], session, timeout=5)
                    except requests.RequestException:
                        return  # the server died with this request in flight
                    if response.status_code != 200:
                        problems.append(f"family {f}: rotation before the kill answered {response.status_code} {response.text[:120]}")
                        return
                    held[f].append(response.json()["refresh_token"])
                    counts[f] += 1

            threads = [threading.Thread(target=worker, args=(f,), daemon=True) for f in range(families)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(1.5, 3.0))
            system.server.kill9()
            stop.set()
            for t in threads:
                t.join(timeout=20)
            rotations += sum(counts)
            if kind == "sqlite":
                check = system.store.integrity_check()
                if check != "ok":
                    problems.append(f"cycle {cycle}: PRAGMA integrity_check after kill -9: {check}")
            system.server.start()
            now_ms = int(time.time() * 1000)
            for f in range(families):
                live = system.store.query(
                    f"SELECT token_hash, COALESCE(parent_hash, '') FROM refresh_tokens WHERE family_id = '{family_of[f]}' "
                    f"AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > {now_ms}")
                if len(live) != 1:
                    problems.append(f"cycle {cycle} family {f}: {len(live)} usable tokens in the database after kill -9")
                    continue
                last = held[f][-1]
                if live[0][0] == token_hash(last):
                    response = system.refresh(last)
                    if response.status_code != 200:
                        problems.append(f"cycle {cycle} family {f}: the live token answered {response.status_code}")
                        continue
                    held[f].append(response.json()["refresh_token"])
                elif live[0][1] == token_hash(last):
                    # The rotation in flight at the kill committed; its response was lost. The client's token
                    # is now spent: presenting it is reuse and must revoke the family (no grace configured).
                    lost_responses += 1
                    response = system.refresh(last)
                    if response.status_code != 400 or response.json().get("error") != "invalid_grant":
                        problems.append(f"cycle {cycle} family {f}: spent token after a lost response answered {response.status_code}")
                    # Sign in again so that the family can keep rotating in the next cycle.
                    held[f] = [system.sign_in()["refresh_token"]]
                    family_of[f] = system.store.query(
                        f"SELECT family_id FROM refresh_tokens WHERE token_hash = '{token_hash(held[f][0])}'")[0][0]
                else:
                    problems.append(f"cycle {cycle} family {f}: the usable token is neither the client's last nor its successor")
        # Reuse detection after the restarts: an old token of each family revokes it.
        reuse_ok = reuse_tried = 0
        for f in range(families):
            if len(held[f]) < 2:
                continue
            reuse_tried += 1
            response = system.refresh(held[f][-2])
            live = system.store.query(f"SELECT COUNT(*) FROM refresh_tokens WHERE family_id = '{family_of[f]}' "
                                      f"AND rotated_at IS NULL AND revoked_at IS NULL")
            if response.status_code == 400 and response.json().get("error") == "invalid_grant" and live[0][0] == "0":
                reuse_ok += 1
            else:
                problems.append(f"family {f}: reuse after restart answered {response.status_code}, {live[0][0]} tokens left usable")
        integrity = ""
        if kind == "sqlite":
            system.server.stop()
            integrity = f", integrity_check {system.store.integrity_check()}"
            if not integrity.endswith("ok"):
                problems.append("integrity_check " + integrity)
        detail = (f"{cycles} kill -9 under {families} rotating families, {rotations} rotations before the kills, "
                  f"{lost_responses} responses lost in flight (their families refused the spent token), every family exactly one "
                  f"usable token after restart, an older token then revoked {reuse_ok} of {reuse_tried} families (reuse detection; the others were signed in again "
                  f"after a lost response){integrity}")
        report(not problems, "kill9-refresh", kind, detail if not problems else "; ".join(problems[:6]))
    finally:
        system.close()


# ---------------------------------------------------------------------------
# Load on every route class, with the answers recorded.

class RouteLoad:
    """One thread per route class, each request's status (or connection error) recorded with its time."""

    def __init__(self, system: Lamba, access_token: str, pause: float = 0.02):
        self.system = system
        self.pause = pause
        self.stop = threading.Event()
        self.records: list[tuple[float, str, int, str]] = []   # (time, class, status or -1, note)
        self.lock = threading.Lock()
        m = system.meta
        conf = system.conf
        self.routes = {
            "discovery": lambda s: s.get(system.demo.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT),
            "jwks": lambda s: s.get(m["jwks_uri"], timeout=TIMEOUT),
            "token": lambda s: s.post(m["token_endpoint"], auth=conf, data={"grant_type": "client_credentials"}, timeout=TIMEOUT),
            "introspect": lambda s: s.post(m["introspection_endpoint"], auth=conf, data={"token": access_token}, timeout=TIMEOUT),
            "userinfo": lambda s: s.get(m["userinfo_endpoint"], headers={"Authorization": "Bearer " + access_token}, timeout=TIMEOUT),
            "console": lambda s: s.get(system.server.url + "/console/v1/projects",
                                       headers={"Authorization": "Bearer " + system.console_json["api_key"]}, timeout=TIMEOUT),
            "health": lambda s: s.get(system.server.url + "/healthz", timeout=TIMEOUT),
        }
        self.threads = [threading.Thread(target=self.run, args=(name,), daemon=True) for name in self.routes]

    def run(self, name: str) -> None:
        session = requests.Session()
        call = self.routes[name]
        while not self.stop.is_set():
            now = time.monotonic()
            try:
                response = call(session)
                status = response.status_code
                info = ""
                if status != 200:
                    try:
                        error = response.json().get("error", response.json().get("status", ""))
                    except ValueError:
                        error = "(not JSON)"
                    info = f"{error} retry-after={response.headers.get('Retry-After')}"
            except requests.RequestException as error:
                status, info = -1, type(error).__name__
                session = requests.Session()
            with self.lock:
                self.records.append((now, name, status, info))
            time.sleep(self.pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def pg_outage(lamba: str, kind: str, scratch: str) -> None:
    assert kind == "postgres"
    outage = 6 if QUICK else 20
    system = Lamba(lamba, "postgres", scratch)
    try:
        access_token = system.sign_in()["access_token"]
        for mode in ("fast", "immediate"):
            with RouteLoad(system, access_token) as load:
                time.sleep(2)
                stopped_at = time.monotonic()
                system.store.pg.stop(mode)
                time.sleep(outage)
                started_at = time.monotonic()
                system.store.pg.start()
                # Recovered: every class answered 200 from some point on, for at least 3 s.
                deadline = started_at + 60
                while time.monotonic() < deadline:
                    time.sleep(1)
                    with load.lock:
                        recent = [r for r in load.records if r[0] > time.monotonic() - 3]
                    if recent and all(r[2] == 200 for r in recent) and {r[1] for r in recent} == set(load.routes):
                        break
                time.sleep(1)
            records = load.records
            bad, per_class = [], {}
            for t, name, status, info in records:
                phase = "before" if t < stopped_at else "outage" if t < started_at else "after"
                per_class.setdefault(name, {}).setdefault(phase, {}).setdefault(status, 0)
                per_class[name][phase][status] += 1
                if status == 200:
                    continue
                if status == 503 and "retry-after=None" not in info and (name == "health" or info.startswith("temporarily_unavailable")):
                    if phase == "before":
                        bad.append(f"{name}: 503 before the outage")
                    continue
                bad.append(f"{name} {phase}: {status} {info}")
            recovery = {}
            for name in load.routes:
                after = [(t, s) for t, n, s, _ in records if n == name and t >= started_at]
                last_bad = max([t for t, s in after if s != 200], default=started_at)
                recovery[name] = last_bad - started_at
                if not after or after[-1][1] != 200:
                    bad.append(f"{name}: not recovered {recovery[name]:.1f} s after PostgreSQL came back")
            outage_503 = sum(per_class[n].get("outage", {}).get(503, 0) for n in per_class)
            outage_200 = sum(per_class[n].get("outage", {}).get(200, 0) for n in per_class)
            summary = " ".join(f"{n}:{per_class[n].get('outage', {}).get(503, 0)}x503/{per_class[n].get('outage', {}).get(200, 0)}x200"
                               f"/rec {recovery[n]:.1f}s" for n in load.routes)
            detail = (f"stop -m {mode} for {outage} s under load, {len(records)} requests, during the outage {outage_503} answered 503 "
                      f"temporarily_unavailable with Retry-After and {outage_200} 200 (requests at the outage's edges), no other status; "
                      f"recovered without restart in {max(recovery.values()):.1f} s [{summary}]")
            distinct = sorted(set(bad))
            report(not bad, f"pg-outage-{mode}", kind, detail if not bad else f"{len(bad)} bad answers: " + "; ".join(distinct[:8]) + " | " + detail)
            if not system.server.alive():
                report(False, f"pg-outage-{mode}", kind, "lamba serve exited")
                return
    finally:
        system.close()


# ---------------------------------------------------------------------------
# SQLite on a full filesystem

def mount_small_filesystem(directory: str, megabytes: int) -> tuple[str, list[str]]:
    """A small filesystem at `directory`: tmpfs, else a loop-mounted ext4 image. Returns (how, unmount command)."""
    os.makedirs(directory, exist_ok=True)
    attempt = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", directory], capture_output=True, text=True)
    if attempt.returncode == 0:
        return f"tmpfs of {megabytes} MiB", ["umount", directory]
    tmpfs_error = attempt.stderr.strip()
    image = directory + ".img"
    subprocess.run(["truncate", "-s", f"{megabytes}M", image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", image], check=True, capture_output=True)
    attempt = subprocess.run(["mount", "-o", "loop", image, directory], capture_output=True, text=True)
    if attempt.returncode == 0:
        return f"loop-mounted ext4 of {megabytes} MiB (tmpfs refused: {tmpfs_error})", ["umount", directory]
    raise RuntimeError(f"cannot mount a small filesystem: tmpfs: {tmpfs_error}; loop: {attempt.stderr.strip()}")


def fill(directory: str) -> str:
    """Writes a filler file until the filesystem refuses (ENOSPC)."""
    path = os.path.join(directory, "filler")
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
        try:  # the last partial block
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass
    return path


def sqlite_full(lamba: str, kind: str, scratch: str) -> None:
    mount_point = os.path.join(scratch, "small-fs")
    try:
        how, unmount = mount_small_filesystem(mount_point, 32)
    except Exception as error:  # noqa: BLE001
        report(False, "sqlite-full", "sqlite", f"not run: {error}")
        return
    note(f"sqlite-full: the database lives on a {how}")
    system = None
    try:
        db_dir = os.path.join(mount_point, "db")
        os.makedirs(db_dir)
        system = Lamba(lamba, "sqlite", scratch, sqlite_path=os.path.join(db_dir, "lamba.sqlite"))
        families = [system.sign_in() for _ in range(4)]
        held = [[f["refresh_token"]] for f in families]
        access_token = families[0]["access_token"]
        # Empty the WAL so that the next writes must grow it, then fill what is left of the disk.
        import sqlite3
        connection = sqlite3.connect(system.store.path, timeout=30)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        seq_before = int(system.store.query("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0])
        filler = fill(mount_point)
        name_prefix = "full-" + uuid.uuid4().hex[:6]
        created_ok, answers, problems = 0, {}, []
        console = system.console
        session = requests.Session()

        def write_round(n: int) -> None:
            nonlocal created_ok
            r = console.post(system.env_path + "/clients", json={"client_name": f"{name_prefix} {n}", "client_type": "confidential",
                                                                   "grant_types": ["client_credentials"]}, timeout=TIMEOUT)
            answers.setdefault(("create client", r.status_code), 0)
            answers[("create client", r.status_code)] += 1
            if r.status_code == 201:
                created_ok += 1
            elif r.status_code != 503 or "Retry-After" not in r.headers or r.json().get("error") != "temporarily_unavailable":
                problems.append(f"create client on a full disk: {r.status_code} {r.text[:120]}")
            f = n % len(held)
            r = system.refresh(held[f][-1], session)
            answers.setdefault(("refresh", r.status_code), 0)
            answers[("refresh", r.status_code)] += 1
            if r.status_code == 200:
                held[f].append(r.json()["refresh_token"])
            elif r.status_code != 503 or "Retry-After" not in r.headers or r.json().get("error") != "temporarily_unavailable":
                problems.append(f"refresh on a full disk: {r.status_code} {r.text[:120]}")
            for label, r in (("discovery", session.get(system.demo.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT)),
                             ("introspect", session.post(system.meta["introspection_endpoint"], auth=system.conf,
                                                         data={"token": access_token}, timeout=TIMEOUT)),
                             ("console read", console.get(system.env_path + "/clients", timeout=TIMEOUT))):
                answers.setdefault((label, r.status_code), 0)
                answers[(label, r.status_code)] += 1
                if r.status_code != 200:
                    problems.append(f"{label} (a read) on a full disk: {r.status_code} {r.text[:120]}")

        rounds = 0
        full_seen = 0
        deadline = time.monotonic() + (30 if QUICK else 60)
        while time.monotonic() < deadline and rounds < 400:
            write_round(rounds)
            rounds += 1
            full_seen = sum(v for (label, status), v in answers.items() if status == 503)
            if full_seen >= 60:
                break
        if full_seen == 0:
            problems.append(f"no write was refused in {rounds} rounds: the disk never looked full to SQLite")
        os.remove(filler)
        # Space is back: writes work again without a restart.
        recovered_after = None
        start = time.monotonic()
        while time.monotonic() - start < 20:
            r = console.post(system.env_path + "/clients", json={"client_name": f"{name_prefix} after", "client_type": "confidential",
                                                                   "grant_types": ["client_credentials"]}, timeout=TIMEOUT)
            if r.status_code == 201:
                created_ok += 1
                recovered_after = time.monotonic() - start
                break
            time.sleep(0.5)
        if recovered_after is None:
            problems.append("writes still fail 20 s after the disk has room again")
        # Nothing half-written: the clients that exist are exactly those answered 201, each with its event.
        in_db = int(system.store.query(f"SELECT COUNT(*) FROM oauth_clients WHERE name LIKE '{name_prefix}%'")[0][0])
        events = int(system.store.query(f"SELECT COUNT(*) FROM events WHERE type = 'client.created' AND seq > {seq_before}")[0][0])
        if in_db != created_ok:
            problems.append(f"{in_db} clients in the database but {created_ok} creations answered 201")
        if events != created_ok:
            problems.append(f"{events} client.created events for {created_ok} created clients")
        for f, tokens in enumerate(held):
            r = system.refresh(tokens[-1], session)
            if r.status_code != 200:
                problems.append(f"family {f}: the client's last token (kept after 503s) answered {r.status_code} {r.text[:100]}")
        system.server.stop()
        integrity = system.store.integrity_check()
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        summary = ", ".join(f"{label} {status}: {count}" for (label, status), count in sorted(answers.items()))
        detail = (f"{how}; {rounds} rounds on a full disk [{summary}]; {created_ok} clients created = {in_db} in the database = {events} "
                  f"events; every family's kept token still usable; writes back {recovered_after:.1f} s after freeing space, "
                  f"no restart; integrity_check {integrity}" if recovered_after is not None else "")
        report(not problems, "sqlite-full", "sqlite", detail if not problems else "; ".join(problems[:6]) + f" [{summary}]")
    except Exception as error:  # noqa: BLE001
        report(False, "sqlite-full", "sqlite", f"{type(error).__name__}: {error}")
    finally:
        if system is not None:
            system.close()
        subprocess.run(unmount, capture_output=True)


# ---------------------------------------------------------------------------
# Webhook receivers down for a while

class Receiver:
    """A Standard Webhooks receiver on 127.0.0.1: `up` answers 204, `refusing` reads the body and answers 503,
    `down` closes the port. Every request seen is recorded with its body bytes and headers."""

    def __init__(self):
        self.port = None
        self.mode = "up"
        self.seen: list[tuple[str, str, bytes, dict, int]] = []  # (mode, webhook-id, body, headers, answer)
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.httpd = None
        self.port = 0

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = 204 if receiver.mode == "up" else 503
                with receiver.lock:
                    receiver.seen.append((receiver.mode, self.headers.get("webhook-id", ""), body, dict(self.headers), answer))
                    receiver.times.append(time.monotonic())
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def down(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.mode = "down"

    def up(self) -> None:
        self.mode = "up"
        self.start()


def webhooks(lamba: str, kind: str, scratch: str) -> None:
    refusing, closed = (8, 8) if QUICK else (30, 60)
    cap_ms = 2000 if QUICK else 15000
    receiver = Receiver()
    receiver.start()
    system = Lamba(lamba, kind, scratch, env={"LAMBA_WEBHOOK_BACKOFF_CAP_MS": str(cap_ms)})
    try:
        c, base = system.console, system.env_path
        r = c.patch(base + "/webhook-settings", json={"allow_private_targets": True}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        r = c.post(base + "/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hook", "event_types": ["client.created"]},
                   timeout=TIMEOUT)
        assert r.status_code == 201, r.text
        endpoint = r.json()
        secret = base64.b64decode(endpoint["secret"].removeprefix("whsec_"))
        first_seq = int(system.store.query("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0])
        count = 0

        def events(n: int) -> None:
            nonlocal count
            for _ in range(n):
                r = c.post(base + "/clients", json={"client_name": f"hook {count}", "client_type": "confidential",
                                                    "grant_types": ["client_credentials"]}, timeout=TIMEOUT)
                assert r.status_code == 201, r.text
                count += 1

        events(5)
        time.sleep(2)
        receiver.mode = "refusing"
        end = time.monotonic() + refusing
        while time.monotonic() < end:
            events(1)
            time.sleep(0.5)
        receiver.down()
        end = time.monotonic() + closed
        while time.monotonic() < end:
            events(1)
            time.sleep(0.5)
        came_back = time.monotonic()
        receiver.up()
        expected = {row[0] for row in system.store.query(
            f"SELECT id FROM events WHERE seq > {first_seq} AND type = 'client.created' AND project_id = '{system.project}' "
            f"AND environment = 'sandbox'")}
        deadline = came_back + (60 if QUICK else 180)
        delivered: set[str] = set()
        while time.monotonic() < deadline:
            with receiver.lock:
                delivered = {wid for mode, wid, _, _, answer in receiver.seen if answer == 204}
            if expected <= delivered:
                break
            time.sleep(0.5)
        all_in = time.monotonic() - came_back
        with receiver.lock:
            after_times = [t for t, (mode, wid, _, _, answer) in zip(receiver.times, receiver.seen) if answer == 204 and t >= came_back]
        first_after = (min(after_times) - came_back) if after_times else float("nan")
        problems = []
        missing = expected - delivered
        if len(expected) != count:
            problems.append(f"{len(expected)} client.created events in the outbox for {count} clients created")
        if missing:
            problems.append(f"{len(missing)} of {len(expected)} events never delivered {all_in:.0f} s after the receiver came back")
        states = system.store.query(f"SELECT state, COUNT(*) FROM webhook_deliveries WHERE endpoint_id = '{endpoint['id']}' GROUP BY state")
        if any(state != "succeeded" for state, _ in states):
            problems.append(f"delivery states in the database: {states}")
        bodies: dict[str, set[bytes]] = {}
        attempts_seen = 0
        bad_signatures = 0
        with receiver.lock:
            seen = list(receiver.seen)
        for mode, wid, body, headers, answer in seen:
            attempts_seen += 1
            bodies.setdefault(wid, set()).add(body)
            lowered = {k.lower(): v for k, v in headers.items()}
            signed = f"{wid}.{lowered.get('webhook-timestamp')}.".encode() + body
            good = "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
            if good not in lowered.get("webhook-signature", "").split(" "):
                bad_signatures += 1
        differing = [wid for wid, variants in bodies.items() if len(variants) != 1]
        if differing:
            problems.append(f"{len(differing)} events arrived with differing bodies across attempts")
        if bad_signatures:
            problems.append(f"{bad_signatures} attempts with a signature that does not verify")
        retried = sum(1 for wid in bodies if sum(1 for s in seen if s[1] == wid) > 1)
        # A replay of one event carries the very same bytes.
        sample = sorted(expected)[0] if expected else None
        if sample:
            before = len(seen)
            r = c.post(f"{base}/webhooks/{endpoint['id']}/replay", json={"event_id": sample}, timeout=TIMEOUT)
            if r.status_code not in (200, 201, 202):
                problems.append(f"replay answered {r.status_code} {r.text[:120]}")
            else:
                end = time.monotonic() + 30
                while time.monotonic() < end and len(receiver.seen) == before:
                    time.sleep(0.2)
                replayed = [s for s in receiver.seen[before:] if s[1] == sample]
                if not replayed or replayed[0][2] not in bodies[sample]:
                    problems.append("the replayed delivery's body differs from the original (or never came)")
        detail = (f"{count} events; receiver refused (503) for {refusing} s then down (connection refused) for {closed} s; "
                  f"first delivery {first_after:.1f} s and all {len(expected)} delivered {all_in:.1f} s after it came back (backoff cap {cap_ms} ms via LAMBA_WEBHOOK_BACKOFF_CAP_MS); "
                  f"{attempts_seen} attempts reached the receiver, {retried} events seen more than once, every body byte-identical "
                  f"across attempts and the replay, every signature verifies; delivery states {states}")
        report(not problems, "webhooks", kind, detail if not problems else "; ".join(problems))
    except Exception as error:  # noqa: BLE001
        report(False, "webhooks", kind, f"{type(error).__name__}: {error} {traceback.format_exc(limit=2)}")
    finally:
        system.close()
        if receiver.mode != "down":
            receiver.down()


# ---------------------------------------------------------------------------
# Mixed soak with RSS sampled

def soak(lamba: str, kind: str, scratch: str) -> None:
    duration = 60 if QUICK else 600
    interval = 5 if QUICK else 30
    workers = 6
    system = Lamba(lamba, kind, scratch)
    try:
        errors: list[str] = []
        counts: dict[str, int] = {}
        lock = threading.Lock()
        stop = threading.Event()
        m, conf = system.meta, system.conf
        api = {"Authorization": "Bearer " + system.console_json["api_key"]}

        def worker(n: int) -> None:
            session = requests.Session()
            tokens = system.sign_in(session)
            rng = random.Random(n)
            while not stop.is_set():
                kind_ = rng.choices(["refresh", "userinfo", "introspect", "cc", "discovery", "jwks", "console-read", "console-write",
                                     "sign-in"], weights=[20, 15, 15, 15, 8, 8, 8, 4, 2])[0]
                try:
                    if kind_ == "refresh":
                        r = system.refresh(tokens["refresh_token"], session)
                        if r.status_code == 200:
                            tokens = r.json()
                    elif kind_ == "userinfo":
                        r = session.get(m["userinfo_endpoint"], headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=TIMEOUT)
                    elif kind_ == "introspect":
                        r = session.post(m["introspection_endpoint"], auth=conf, data={"token": tokens["access_token"]}, timeout=TIMEOUT)
                        if r.status_code == 200 and r.json().get("active") is not True:
                            raise RuntimeError("introspection says a live token is inactive")
                    elif kind_ == "cc":
                        r = session.post(m["token_endpoint"], auth=conf, data={"grant_type": "client_credentials"}, timeout=TIMEOUT)
                    elif kind_ == "discovery":
                        r = session.get(system.demo.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT)
                    elif kind_ == "jwks":
                        r = session.get(m["jwks_uri"], timeout=TIMEOUT)
                    elif kind_ == "console-read":
                        r = session.get(system.env_path + "/clients", headers=api, timeout=TIMEOUT)
                    elif kind_ == "console-write":
                        r = session.post(system.env_path + "/clients", headers=api, timeout=TIMEOUT, json={
                            "client_name": "soak", "client_type": "confidential", "grant_types": ["client_credentials"]})
                        if r.status_code == 201:
                            r = session.delete(system.env_path + "/clients/" + r.json()["client_id"], headers=api, timeout=TIMEOUT)
                    else:
                        tokens = system.sign_in(session)
                        r = None
                    status = 200 if r is None else r.status_code
                    if status not in (200, 201, 204):
                        raise RuntimeError(f"{kind_}: HTTP {status} {r.text[:120]}")
                    with lock:
                        counts[kind_] = counts.get(kind_, 0) + 1
                except Exception as error:  # noqa: BLE001
                    with lock:
                        errors.append(f"{kind_}: {type(error).__name__}: {error}")
                    if len(errors) > 50:
                        return

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(workers)]
        for t in threads:
            t.start()
        samples = []
        start = time.monotonic()
        while time.monotonic() - start < duration:
            samples.append(system.server.rss_kib() // 1024)
            time.sleep(interval)
        samples.append(system.server.rss_kib() // 1024)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        total = sum(counts.values())
        # Flat: after the first sample (warm-up), the last third is within 10 % (or 16 MiB) of the middle third.
        body = samples[1:] or samples
        third = max(1, len(body) // 3)
        middle = sum(body[third:2 * third] or body) / len(body[third:2 * third] or body)
        last = sum(body[-third:]) / third
        growth = last - middle
        flat = growth <= max(16, 0.10 * middle)
        problems = []
        if errors:
            problems.append(f"{len(errors)} errors, first: {errors[:3]}")
        # A minute is all warm-up (the caches keyed by token are still filling towards their caps), so
        # quick mode reports RSS and judges errors only; the full soak judges flatness too.
        if not flat and not QUICK:
            problems.append(f"RSS grew {growth:.0f} MiB from the middle third ({middle:.0f}) to the last ({last:.0f})")
        mix = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        verdict = "flat" if flat else "not judged in quick mode"
        detail = (f"{duration} s, {workers} clients, {total} operations ({total / duration:.0f}/s) [{mix}], 0 errors; "
                  f"RSS MiB every {interval} s: {samples} (last third {last:.0f} vs middle {middle:.0f}: {verdict})")
        report(not problems, "soak", kind, detail if not problems else "; ".join(problems) + f"; RSS MiB {samples}")
    finally:
        system.close()


FAULTS = {"kill9-refresh": kill9_refresh, "pg-outage": pg_outage, "sqlite-full": sqlite_full, "webhooks": webhooks, "soak": soak}
STORES = {"kill9-refresh": ["sqlite", "postgres"], "pg-outage": ["postgres"], "sqlite-full": ["sqlite"],
          "webhooks": ["sqlite", "postgres"], "soak": ["sqlite", "postgres"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lamba", required=True)
    parser.add_argument("--fault", action="append", choices=list(FAULTS), help="run only this fault (repeatable)")
    parser.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="lamba-faults.")
    os.chmod(scratch, 0o755)
    started = time.monotonic()
    print(f"faults: {'quick' if QUICK else 'full'} mode, {args.lamba}, scratch {scratch}", flush=True)
    try:
        for name in args.fault or list(FAULTS):
            for kind in STORES[name]:
                if args.store != "all" and kind != args.store:
                    continue
                began = time.monotonic()
                try:
                    FAULTS[name](args.lamba, kind, scratch)
                except Exception as error:  # noqa: BLE001
                    report(False, name, kind, f"did not finish: {type(error).__name__}: {error}")
                    traceback.print_exc()
                note(f"{name} [{kind}] took {time.monotonic() - began:.0f} s")
    finally:
        if os.environ.get("FAULTS_KEEP"):
            print(f"faults: kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    failed = sum(1 for ok, _ in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed ({time.monotonic() - started:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
