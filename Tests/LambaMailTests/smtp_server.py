"""A real SMTP server for the LambaMail tests (aiosmtpd), on 127.0.0.1.

Each accepted message is written to --out as N.eml (the DATA bytes as received, dot-stuffing
undone) and N.json (the envelope, the AUTH mechanism and login, whether TLS was on, and the message
as Python's email package reads it). With --port 0 it picks a free port. Prints "ready PORT" once
listening, then serves until stdin closes or it is killed.
"""
import argparse
import email
import email.policy
import json
import os
import socket
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, out, rcpt_reply, no_ehlo):
        self.out = out
        self.no_ehlo = no_ehlo
        self.rcpt_reply = rcpt_reply
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.no_ehlo:
            # An RFC 821 server: EHLO is unknown, HELO works (RFC 5321 §3.2).
            session.extended_smtp = False
            return ["502 5.5.1 EHLO not implemented"]
        # With this hook defined, aiosmtpd leaves recording the name to it.
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out, str(self.count))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_mechanism": getattr(session, "lamba_mechanism", None),
            "auth_login": login,
            # session.ssl is set by STARTTLS; with implicit TLS the transport itself is TLS.
            "helo": session.host_name,
            "extended": session.extended_smtp,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "header_names": list(parsed.keys()),
            "subject": str(parsed["subject"]),
            "from": str(parsed["from"]),
            "to": str(parsed["to"]),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "defects": [repr(d) for d in parsed.defects],
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        # The .eml appears last, so a reader that sees it also sees the .json.
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == user and auth_data.password.decode() == password)
        if ok:
            session.lamba_mechanism = mechanism
        # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return authenticate


def silent(port):
    """Accepts TCP connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    held = []

    def accept():
        while True:
            conn, _ = listener.accept()
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()


def injecting(port):
    """Offers STARTTLS, then sends plaintext after its 220 to it: what a man in the middle would
    append, hoping the client reads it as the server's first words over TLS (RFC 3207 §4.2)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)

    def serve(conn):
        with conn:
            reader = conn.makefile("rb")
            conn.sendall(b"220 localhost ESMTP\r\n")
            while line := reader.readline():
                if line.upper().startswith(b"EHLO"):
                    conn.sendall(b"250-localhost\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
                elif line.upper().startswith(b"STARTTLS"):
                    # Right behind the 220: in its segment or the next, before the client's TLS starts.
                    conn.sendall(b"220 Go ahead\r\n")
                    conn.sendall(b"250-localhost\r\n250 AUTH PLAIN\r\n")
                    time.sleep(5)
                    return
                else:
                    conn.sendall(b"502 no\r\n")

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--starttls", action="store_true", help="offer STARTTLS and require it")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (RFC 8314)")
    parser.add_argument("--auth", help="USER:PASSWORD; AUTH required")
    parser.add_argument("--auth-only", choices=["PLAIN", "LOGIN"], help="offer only this AUTH mechanism")
    parser.add_argument("--mode", choices=["accept", "rcpt451", "rcpt550", "silent", "noehlo", "inject"], default="accept")
    args = parser.parse_args()
    if args.port == 0:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        args.port = probe.getsockname()[1]
        probe.close()

    if args.mode == "silent":
        silent(args.port)
    elif args.mode == "inject":
        injecting(args.port)
    else:
        context = None
        if args.starttls or args.implicit_tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(args.cert, args.key)
        rcpt_reply = {"rcpt451": "451 4.3.0 Try again later", "rcpt550": "550 5.1.1 No such user"}.get(args.mode)
        kwargs = {}
        if args.auth:
            user, password = args.auth.split(":", 1)
            kwargs.update(authenticator=make_authenticator(user, password), auth_required=True,
                          auth_require_tls=args.starttls)
            if args.auth_only:
                kwargs["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN") if m != args.auth_only]
        if args.starttls:
            kwargs.update(tls_context=context, require_starttls=True)
        controller = Controller(
            Recorder(args.out, rcpt_reply, args.mode == "noehlo"), hostname="127.0.0.1", port=args.port,
            ssl_context=context if args.implicit_tls else None, server_hostname="localhost", **kwargs)
        controller.start()

    print("ready", args.port, flush=True)
    # Serve until the test closes stdin (or kills the process, or dies itself).
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
