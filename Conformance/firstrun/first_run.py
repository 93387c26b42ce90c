#!/usr/bin/env python3
"""The README's first run, judged from outside: `lamba serve` on the embedded default in an empty
directory must print a one-time console sign-in link that works in a cookie-keeping HTTP client
(choose a password, land signed in, see the demo Workspace through the console API), refuse the link
a second time, and on the next start print how to get a new link instead.

Usage: first_run.py LAMBA_BIN
"""
import http.cookiejar, json, os, re, secrets, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def start(lamba, workdir, port, log):
    env = dict(os.environ, LAMBA_KEYS_DIR=os.path.join(workdir, "keys"))
    env.pop("LAMBA_DATABASE_URL", None)
    env.pop("LAMBA_MASTER_KEY", None)
    process = subprocess.Popen([lamba, "serve", "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit("FAIL lamba serve exited: " + open(log.name).read()[-2000:])
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    raise SystemExit("FAIL lamba serve not healthy after 90 s")

def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

def main():
    lamba = sys.argv[1]
    failures = []
    passed = []
    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        (passed if ok else failures).append(what)
    with tempfile.TemporaryDirectory(prefix="lamba-firstrun.") as workdir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with open(os.path.join(workdir, "first.log"), "w+") as log:
            process = start(lamba, workdir, port, log)
            try:
                output = open(log.name).read()
                match = re.search(r"(http://\S+/console/sign-in-link\?token=\S+)", output)
                check(match is not None, "the first start prints a one-time console sign-in link")
                if not match: raise SystemExit(output)
                link = match.group(1)
                check(f"{base}/console" in output, "the first start prints the console URL")
                jar = http.cookiejar.CookieJar()
                opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
                page = opener.open(link).read().decode()
                form = {name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1) for name in ("token", "csrf_token")}
                form["password"] = "first-run " + secrets.token_hex(8)
                landed = opener.open(base + "/console/sign-in-link", data=urllib.parse.urlencode(form).encode())
                check(urllib.parse.urlparse(landed.geturl()).path == "/console", f"the link lands in the console ({landed.geturl()})")
                session = json.load(opener.open(base + "/console/v1/session"))
                check(session.get("installation_administrator") is True, "signed in as the installation's administrator")
                workspaces = json.load(opener.open(base + "/console/v1/workspaces"))["data"]
                check(any(w["workspace"]["slug"] == "demo" and w["workspace_role"] == "owner" for w in workspaces),
                      "the administrator owns the demo Workspace")
                projects = json.load(opener.open(base + "/console/v1/projects"))["data"]
                check(any(p["slug"] == "demo" for p in projects), "the console API lists the demo Project")
                root = json.load(urllib.request.urlopen(base + "/"))
                check(root.get("console") == base + "/console", "GET / names the console")
                try:
                    urllib.request.build_opener().open(link)
                    check(False, "a spent link is refused")
                except urllib.error.HTTPError as error:
                    check(error.code == 400, "a spent link is refused")
            finally:
                stop(process)
        with open(os.path.join(workdir, "second.log"), "w+") as log:
            process = start(lamba, workdir, port, log)
            try:
                output = open(log.name).read()
                check("lamba admin sign-in-link --email admin@lamba.local" in output and "sign-in-link?token=" not in output,
                      "a later start prints how to get a new link, and no link")
            finally:
                stop(process)
    print(f"{len(passed)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)

if __name__ == "__main__":
    main()
