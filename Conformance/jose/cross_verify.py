#!/usr/bin/env python3
"""Cross-library JOSE conformance suite for Lamba.

Proves that JWTs signed by Lamba verify in three independent Python JOSE
libraries (jwcrypto, PyJWT, joserfc), that tokens those libraries sign verify
in Lamba, that every party rejects tampered tokens, and that Lamba refuses a
set of well-known JWT attacks with the right reason.

Usage: cross_verify.py --lamba PATH_TO_LAMBA_BINARY

Prints one line per check (`PASS name` / `FAIL name: detail`) and finally
`N passed, N failed`; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from pathlib import Path

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwk as rfc_jwk
from joserfc import jwt as rfc_jwt
from joserfc.jwk import KeySet as RfcKeySet
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto import jwt as jc_jwt

# joserfc flags "EdDSA" as deprecated by RFC 9864 (in favour of "Ed25519");
# Lamba publishes EdDSA, which every library still implements.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

ALGS = ["RS256", "PS256", "ES256", "EdDSA"]
# Header alg used for the "alg swapped" tamper: same key family where one
# exists, so the refusal has to come from the signature, not a key-type check.
SWAP = {"RS256": "PS256", "PS256": "RS256", "ES256": "EdDSA", "EdDSA": "ES256"}
ISS = "https://lamba.conformance.test"
AUD = "conformance-client"
LIBS = ["jwcrypto", "pyjwt", "joserfc"]


# --------------------------------------------------------------------------
# helpers

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def split(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"not a compact JWS: {len(parts)} segments")
    return parts[0], parts[1], parts[2]


def make_claims(**extra) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "sub": "user-" + secrets.token_hex(4),
        "aud": AUD,
        "exp": now + 600,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    claims.update(extra)
    return claims


def tamper_payload(token: str) -> str:
    h, p, s = split(token)
    claims = json.loads(b64u_decode(p))
    claims["sub"] = "mallory"
    claims["admin"] = True
    return ".".join([h, b64u(json.dumps(claims, separators=(",", ":")).encode()), s])


def tamper_signature(token: str) -> str:
    h, p, s = split(token)
    sig = bytearray(b64u_decode(s))
    sig[len(sig) // 2] ^= 0x01
    return ".".join([h, p, b64u(bytes(sig))])


def tamper_alg(token: str, new_alg: str) -> str:
    h, p, s = split(token)
    header = json.loads(b64u_decode(h))
    header["alg"] = new_alg
    return ".".join([b64u(json.dumps(header, separators=(",", ":")).encode()), p, s])


def compact(sig: dict) -> str:
    """jwcrypto JWSCore.sign() result -> compact serialization."""
    parts = [sig["protected"], sig["payload"], sig["signature"]]
    return ".".join(x.decode("ascii") if isinstance(x, bytes) else x for x in parts)


def unverified_header(token: str) -> dict:
    return json.loads(b64u_decode(split(token)[0]))


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []

    def check(self, name: str, fn) -> None:
        """fn() returns None on success or raises/returns a failure detail."""
        try:
            detail = fn()
        except Exception as exc:  # noqa: BLE001 - any exception is a failure
            detail = f"{type(exc).__name__}: {exc}"
            if os.environ.get("CONFORMANCE_DEBUG"):
                traceback.print_exc()
        if detail is None:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            line = f"FAIL {name}: {detail}"
            self.failures.append(line)
            print(line, flush=True)


def expect_accept(verify, token: str, claims: dict):
    got = verify(token)
    if got != claims:
        return f"claims differ: got {got!r}, want {claims!r}"
    return None


def expect_reject(verify, token: str):
    try:
        got = verify(token)
    except Exception:  # the library refused it
        return None
    return f"accepted an altered token (claims {got!r})"


# --------------------------------------------------------------------------
# Lamba CLI wrapper

class Lamba:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        keys_dir = workdir / "lamba-keys"
        keys_dir.mkdir()
        self.env = dict(os.environ)
        # Never let the CLI write a master key or sealed keys into the repo.
        self.env["LAMBA_KEYS_DIR"] = str(keys_dir)
        self.env["LAMBA_MASTER_KEY"] = secrets.token_hex(32)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.binary, *args], env=self.env, cwd=self.workdir,
            capture_output=True, text=True, timeout=60,
        )

    def must(self, *args: str) -> str:
        proc = self.run(*args)
        if proc.returncode != 0:
            raise RuntimeError(
                f"lamba {' '.join(args[:3])} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def generate(self, alg: str) -> tuple[Path, dict]:
        out = self.workdir / f"lamba-{alg}.json"
        public = json.loads(self.must("keys", "generate", "--alg", alg, "--out", str(out)))
        return out, public

    def jwks(self, *key_files: Path) -> dict:
        return json.loads(self.must("keys", "jwks", *map(str, key_files)))

    def sign(self, key_file: Path, claims: dict, typ: str | None = None) -> str:
        args = ["jwt", "sign", "--key", str(key_file)]
        if typ is not None:
            args += ["--typ", typ]
        return self.must(*args, json.dumps(claims))

    def verify(self, jwks_file: Path, token: str, *extra: str) -> subprocess.CompletedProcess:
        return self.run("jwt", "verify", "--jwks", str(jwks_file), *extra, token)


# --------------------------------------------------------------------------
# Python-side verifiers (part a): each takes a JWKS dict and returns a
# function token -> claims that raises on any refusal.

def jwcrypto_verifier(jwks: dict, typ: str):
    keyset = jc_jwk.JWKSet.from_json(json.dumps(jwks))

    def verify(token: str) -> dict:
        t = jc_jwt.JWT(
            jwt=token, key=keyset, algs=ALGS, expected_type="JWS",
            check_claims={"iss": ISS, "aud": AUD, "exp": None},
        )
        header = json.loads(t.header)
        if header.get("typ") != typ:
            raise ValueError(f"typ {header.get('typ')!r}")
        return json.loads(t.claims)
    return verify


def pyjwt_verifier(jwks: dict, typ: str):
    keyset = pyjwt.PyJWKSet.from_dict(jwks)

    def verify(token: str) -> dict:
        header = pyjwt.get_unverified_header(token)
        key = keyset[header["kid"]]
        claims = pyjwt.decode(
            token, key, algorithms=ALGS, audience=AUD, issuer=ISS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
        if header.get("typ") != typ:
            raise ValueError(f"typ {header.get('typ')!r}")
        return claims
    return verify


def joserfc_verifier(jwks: dict, typ: str):
    keyset = RfcKeySet.import_key_set(jwks)
    registry = rfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        exp={"essential": True},
    )

    def verify(token: str) -> dict:
        tok = rfc_jwt.decode(token, keyset, algorithms=ALGS)
        registry.validate(tok.claims)
        if tok.header.get("typ") != typ:
            raise ValueError(f"typ {tok.header.get('typ')!r}")
        return dict(tok.claims)
    return verify


VERIFIERS = {"jwcrypto": jwcrypto_verifier, "pyjwt": pyjwt_verifier, "joserfc": joserfc_verifier}


# --------------------------------------------------------------------------
# Python-side signers (part b): each returns (token, public_jwk_dict)

def jwcrypto_sign(alg: str, claims: dict) -> tuple[str, dict]:
    if alg in ("RS256", "PS256"):
        key = jc_jwk.JWK.generate(kty="RSA", size=2048)
    elif alg == "ES256":
        key = jc_jwk.JWK.generate(kty="EC", crv="P-256")
    else:
        key = jc_jwk.JWK.generate(kty="OKP", crv="Ed25519")
    kid = key.thumbprint()
    token = jc_jwt.JWT(header={"alg": alg, "typ": "JWT", "kid": kid}, claims=claims)
    token.make_signed_token(key)
    public = key.export_public(as_dict=True)
    public.update(kid=kid, alg=alg, use="sig")
    return token.serialize(), public


def pyjwt_sign(alg: str, claims: dict) -> tuple[str, dict]:
    if alg in ("RS256", "PS256"):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = pyjwt.algorithms.RSAAlgorithm.to_jwk(priv.public_key(), as_dict=True)
    elif alg == "ES256":
        priv = ec.generate_private_key(ec.SECP256R1())
        public = pyjwt.algorithms.ECAlgorithm.to_jwk(priv.public_key(), as_dict=True)
    else:
        priv = ed25519.Ed25519PrivateKey.generate()
        public = pyjwt.algorithms.OKPAlgorithm.to_jwk(priv.public_key(), as_dict=True)
    kid = "pyjwt-" + secrets.token_hex(8)
    public.update(kid=kid, alg=alg, use="sig")
    token = pyjwt.encode(claims, priv, algorithm=alg, headers={"kid": kid, "typ": "JWT"})
    return token, public


def joserfc_sign(alg: str, claims: dict) -> tuple[str, dict]:
    if alg in ("RS256", "PS256"):
        key = rfc_jwk.RSAKey.generate_key(2048, auto_kid=True)
    elif alg == "ES256":
        key = rfc_jwk.ECKey.generate_key("P-256", auto_kid=True)
    else:
        key = rfc_jwk.OKPKey.generate_key("Ed25519", auto_kid=True)
    token = rfc_jwt.encode({"alg": alg, "typ": "JWT", "kid": key.kid}, claims, key,
                           algorithms=[alg])
    public = key.as_dict(private=False)
    public.update(alg=alg, use="sig")
    return token, public


SIGNERS = {"jwcrypto": jwcrypto_sign, "pyjwt": pyjwt_sign, "joserfc": joserfc_sign}


# --------------------------------------------------------------------------
# the suite

def write_jwks(path: Path, *keys: dict) -> Path:
    for key in keys:
        private = {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys()
        if private:
            raise ValueError(f"refusing to publish private members {sorted(private)}")
    path.write_text(json.dumps({"keys": list(keys)}))
    return path


def lamba_accepts(lamba: Lamba, jwks_file: Path, token: str, claims: dict, *extra: str):
    proc = lamba.verify(jwks_file, token, *extra)
    if proc.returncode != 0:
        return f"exit {proc.returncode}: {proc.stderr.strip()}"
    got = json.loads(proc.stdout)["claims"]
    if got != claims:
        return f"claims differ: got {got!r}, want {claims!r}"
    return None


def lamba_refuses(lamba: Lamba, jwks_file: Path, token: str, reason: str | None = None,
                  *extra: str):
    """Exit 1 with `refused: ...` on stderr mentioning the reason regex."""
    proc = lamba.verify(jwks_file, token, *extra)
    err = proc.stderr.strip()
    if proc.returncode == 0:
        return f"accepted (exit 0): {proc.stdout.strip()}"
    if proc.returncode != 1:
        return f"exit {proc.returncode} (want 1): {err}"
    if "refused" not in err:
        return f"stderr lacks 'refused': {err!r}"
    if reason is not None and not re.search(reason, err, re.IGNORECASE):
        return f"refusal reason does not match /{reason}/: {err!r}"
    return None


def part_a(r: Results, lamba: Lamba, tmp: Path) -> None:
    for alg in ALGS:
        try:
            key_file, public = lamba.generate(alg)
            jwks = lamba.jwks(key_file)
        except Exception as exc:  # noqa: BLE001
            r.check(f"a.{alg}.keygen", lambda exc=exc: f"{exc}")
            continue

        def keygen_ok(public=public, jwks=jwks, alg=alg):
            # kid must be the RFC 7638 thumbprint; recompute it with jwcrypto.
            want = jc_jwk.JWK(**public).thumbprint()
            if public.get("kid") != want:
                return f"kid {public.get('kid')!r} is not the RFC 7638 thumbprint {want!r}"
            if public.get("alg") != alg or public.get("use") != "sig":
                return f"alg/use wrong: {public!r}"
            if len(jwks.get("keys", [])) != 1 or jwks["keys"][0] != public:
                return f"jwks does not hold exactly the public key: {jwks!r}"
            return None
        r.check(f"a.{alg}.keygen-jwk-thumbprint", keygen_ok)

        for typ in ("JWT", "at+jwt"):
            claims = make_claims()
            try:
                token = lamba.sign(key_file, claims, typ)
            except Exception as exc:  # noqa: BLE001
                r.check(f"a.{alg}.{typ}.sign", lambda exc=exc: f"{exc}")
                continue

            def header_ok(token=token, alg=alg, typ=typ, kid=public["kid"]):
                h = unverified_header(token)
                if (h.get("alg"), h.get("typ"), h.get("kid")) != (alg, typ, kid):
                    return f"header {h!r}"
                return None
            r.check(f"a.{alg}.{typ}.lamba-header", header_ok)

            altered = {
                "payload-changed": tamper_payload(token),
                "sig-byte-flipped": tamper_signature(token),
                f"alg-swapped-to-{SWAP[alg]}": tamper_alg(token, SWAP[alg]),
            }
            for lib in LIBS:
                try:
                    verify = VERIFIERS[lib](jwks, typ)
                except Exception as exc:  # noqa: BLE001
                    r.check(f"a.{alg}.{typ}.{lib}.load-jwks", lambda exc=exc: f"{exc}")
                    continue
                r.check(f"a.{alg}.{typ}.{lib}.verifies-lamba-token",
                        lambda v=verify, t=token, c=claims: expect_accept(v, t, c))
                for what, bad in altered.items():
                    r.check(f"a.{alg}.{typ}.{lib}.rejects-{what}",
                            lambda v=verify, b=bad: expect_reject(v, b))


def part_b(r: Results, lamba: Lamba, tmp: Path) -> None:
    for alg in ALGS:
        for lib in LIBS:
            name = f"b.{alg}.{lib}"
            claims = make_claims()
            try:
                token, public = SIGNERS[lib](alg, claims)
                jwks_file = write_jwks(tmp / f"{lib}-{alg}.jwks.json", public)
            except Exception as exc:  # noqa: BLE001
                r.check(f"{name}.sign", lambda exc=exc: f"{type(exc).__name__}: {exc}")
                continue
            r.check(f"{name}.lamba-accepts",
                    lambda f=jwks_file, t=token, c=claims: lamba_accepts(
                        lamba, f, t, c, "--iss", ISS, "--aud", AUD, "--typ", "JWT"))
            r.check(f"{name}.lamba-refuses-payload-changed",
                    lambda f=jwks_file, t=tamper_payload(token): lamba_refuses(
                        lamba, f, t, r"signature"))
            r.check(f"{name}.lamba-refuses-sig-byte-flipped",
                    lambda f=jwks_file, t=tamper_signature(token): lamba_refuses(
                        lamba, f, t, r"signature"))


def part_c(r: Results, lamba: Lamba, tmp: Path) -> None:
    rsa_file, rsa_public = lamba.generate("RS256")
    ec_file, ec_public = lamba.generate("ES256")
    rsa_kid, ec_kid = rsa_public["kid"], ec_public["kid"]

    # A key the relying party trusts (published in the same JWKS) whose
    # private half this script holds, so that attack tokens can carry a
    # valid signature and the refusal must come from the attack itself.
    trusted = jc_jwk.JWK.generate(kty="EC", crv="P-256")
    trusted_kid = trusted.thumbprint()
    trusted_public = trusted.export_public(as_dict=True)
    trusted_public.update(kid=trusted_kid, alg="ES256", use="sig")

    jwks = lamba.jwks(rsa_file, ec_file)
    jwks_file = write_jwks(tmp / "attack.jwks.json", *jwks["keys"], trusted_public)

    def sign_raw(header_json: str, claims: dict, key=trusted, alg="ES256") -> str:
        """Sign exactly these header bytes (no re-serialisation) with jwcrypto."""
        core = jc_jws.JWSCore(alg, key, header_json,
                              json.dumps(claims, separators=(",", ":")), algs=[alg])
        return compact(core.sign())

    def hdr(**members) -> str:
        return json.dumps(members, separators=(",", ":"))

    # Controls: without them every refusal below could be vacuous.
    claims = make_claims()
    control = sign_raw(hdr(alg="ES256", typ="JWT", kid=trusted_kid), claims)
    r.check("c.control.trusted-key-token-accepted",
            lambda: lamba_accepts(lamba, jwks_file, control, claims))
    lamba_claims = make_claims()
    lamba_token = lamba.sign(ec_file, lamba_claims)
    r.check("c.control.lamba-token-accepted",
            lambda: lamba_accepts(lamba, jwks_file, lamba_token, lamba_claims))

    # 1. alg none, unsigned.
    claims = make_claims()
    payload = b64u(json.dumps(claims).encode())
    for variant, header, sig in [
        ("none", {"alg": "none", "typ": "JWT"}, ""),
        ("None", {"alg": "None", "typ": "JWT"}, ""),
        ("none-with-kid", {"alg": "none", "typ": "JWT", "kid": ec_kid}, ""),
        # same, but with a (meaningless) non-empty signature segment
        ("none-with-signature", {"alg": "none", "typ": "JWT", "kid": ec_kid},
         split(lamba_token)[2]),
    ]:
        tok = f"{b64u(json.dumps(header).encode())}.{payload}.{sig}"
        r.check(f"c.alg-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t, r"\bnone\b"))

    # 2. HS256 key confusion: HMAC keyed with the RSA public key PEM.
    rsa_pub = jc_jwk.JWK(**rsa_public).export_to_pem(private_key=False, password=None)
    pub_obj = serialization.load_pem_public_key(rsa_pub)
    pems = {
        "spki-pem": rsa_pub,
        "pkcs1-pem": pub_obj.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.PKCS1),
    }
    claims = make_claims()
    for variant, pem in pems.items():
        signing_input = f"{b64u(hdr(alg='HS256', typ='JWT', kid=rsa_kid).encode())}." \
                        f"{b64u(json.dumps(claims).encode())}"
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        tok = f"{signing_input}.{b64u(mac)}"
        # Sanity: the forged token really is a valid HS256 token under that key.
        pyjwt.decode(tok, options={"verify_signature": False})
        r.check(f"c.hs256-key-confusion-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t, r"HS256|HMAC|symmetric"))

    # 3. Embedded jwk header carrying the attacker's own key.
    attacker = jc_jwk.JWK.generate(kty="EC", crv="P-256")
    attacker_pub = attacker.export_public(as_dict=True)
    claims = make_claims()
    for variant, header in {
        "no-kid": {"alg": "ES256", "typ": "JWT", "jwk": attacker_pub},
        "attacker-kid": {"alg": "ES256", "typ": "JWT", "jwk": attacker_pub,
                         "kid": attacker.thumbprint()},
        "trusted-kid": {"alg": "ES256", "typ": "JWT", "jwk": attacker_pub, "kid": ec_kid},
    }.items():
        tok = sign_raw(json.dumps(header), claims, key=attacker)
        r.check(f"c.jwk-header-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t, r"\bjwk\b"))
    # jku / x5u / x5c pointing at attacker material, validly signed by the trusted key
    for member, value in {
        "jku": "https://attacker.invalid/jwks.json",
        "x5u": "https://attacker.invalid/cert.pem",
        "x5c": ["MIIBattacker"],
    }.items():
        claims = make_claims()
        tok = sign_raw(json.dumps({"alg": "ES256", "typ": "JWT", "kid": trusted_kid,
                                   member: value}), claims)
        r.check(f"c.{member}-header-refused",
                lambda t=tok, m=member: lamba_refuses(lamba, jwks_file, t, rf"\b{m}\b"))

    # 4. Unknown critical header (validly signed by a trusted key).
    for variant, header in {
        "x-unknown": {"alg": "ES256", "typ": "JWT", "kid": trusted_kid,
                      "crit": ["x-unknown"], "x-unknown": True},
        "exp": {"alg": "ES256", "typ": "JWT", "kid": trusted_kid,
                "crit": ["exp"], "exp": int(time.time()) + 600},
    }.items():
        claims = make_claims()
        tok = sign_raw(json.dumps(header), claims)
        r.check(f"c.crit-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t, r"crit"))

    # 5. Expired token, signed by Lamba itself.
    now = int(time.time())
    claims = make_claims(iat=now - 7200, exp=now - 3600)
    tok = lamba.sign(ec_file, claims)
    r.check("c.expired-lamba-token-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"expir"))
    claims = make_claims(iat=now - 7200, exp=now - 3600)
    tok = sign_raw(hdr(alg="ES256", typ="JWT", kid=trusted_kid), claims)
    r.check("c.expired-trusted-token-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"expir"))

    # 6. kid names the RSA key, alg says ES256 (signed with an EC key).
    claims = make_claims()
    for variant, key in {"attacker-ec-key": attacker, "trusted-ec-key": trusted}.items():
        tok = sign_raw(hdr(alg="ES256", typ="JWT", kid=rsa_kid), claims, key=key)
        r.check(f"c.rsa-kid-with-es256-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t,
                                            r"mismatch|not match|not fit|key type|kty"))

    # 7. Duplicated member names in the header, validly signed over those bytes.
    claims = make_claims()
    for variant, header in {
        "alg-ES256-then-none": f'{{"alg":"ES256","typ":"JWT","kid":"{trusted_kid}","alg":"none"}}',
        "alg-none-then-ES256": f'{{"alg":"none","typ":"JWT","kid":"{trusted_kid}","alg":"ES256"}}',
        "kid-twice": f'{{"alg":"ES256","typ":"JWT","kid":"{rsa_kid}","kid":"{trusted_kid}"}}',
    }.items():
        tok = sign_raw(header, claims)
        r.check(f"c.duplicate-header-member-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t, r"duplicate"))
    # and in the claims
    payload_json = json.dumps(claims, separators=(",", ":"))[:-1] + ',"sub":"admin"}'
    core = jc_jws.JWSCore("ES256", trusted, hdr(alg="ES256", typ="JWT", kid=trusted_kid),
                          payload_json, algs=["ES256"])
    tok = compact(core.sign())
    r.check("c.duplicate-claim-member-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"duplicate"))

    # 8. Padded base64url segments on otherwise valid tokens.
    h, p, s = split(lamba_token)
    pad = lambda seg: seg + "=" * (-len(seg) % 4)  # noqa: E731
    if pad(s) == s:
        raise RuntimeError("ES256 signature segment unexpectedly needs no padding")
    variants = {"signature": f"{h}.{p}.{pad(s)}", "all-segments": ".".join(map(pad, (h, p, s)))}
    if pad(h) != h:
        variants["header"] = f"{pad(h)}.{p}.{s}"
    if pad(p) != p:
        variants["payload"] = f"{h}.{pad(p)}.{s}"
    for variant, tok in variants.items():
        r.check(f"c.padded-base64url-{variant}-refused",
                lambda t=tok: lamba_refuses(lamba, jwks_file, t, r"base64|padd"))

    # 9. Claim checks the CLI advertises.
    claims = make_claims()
    tok = lamba.sign(ec_file, claims, "at+jwt")
    r.check("c.wrong-iss-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"\biss|issuer", "--iss", ISS + "/evil"))
    r.check("c.wrong-aud-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"\baud|audience", "--aud", "other"))
    r.check("c.wrong-typ-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"\btyp|type", "--typ", "JWT"))
    r.check("c.right-iss-aud-typ-accepted",
            lambda: lamba_accepts(lamba, jwks_file, tok, claims, "--iss", ISS,
                                  "--aud", AUD, "--typ", "at+jwt"))
    claims = {k: v for k, v in make_claims().items() if k != "exp"}
    tok = lamba.sign(ec_file, claims)
    r.check("c.missing-exp-refused",
            lambda: lamba_refuses(lamba, jwks_file, tok, r"\bexp"))
    r.check("c.missing-exp-accepted-with-no-exp",
            lambda: lamba_accepts(lamba, jwks_file, tok, claims, "--no-exp"))
    r.check("c.alg-not-in-allow-list-refused",
            lambda: lamba_refuses(lamba, jwks_file, lamba_token, r"ES256|alg",
                                  "--alg", "RS256"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lamba", required=True, help="path to the lamba binary")
    args = parser.parse_args()
    binary = os.path.abspath(args.lamba)
    if not os.access(binary, os.X_OK):
        print(f"FAIL setup: lamba binary not executable: {binary}")
        print("0 passed, 1 failed")
        return 1

    r = Results()
    with tempfile.TemporaryDirectory(prefix="lamba-jose-") as d:
        tmp = Path(d)
        lamba = Lamba(binary, tmp)
        for part in (part_a, part_b, part_c):
            try:
                part(r, lamba, tmp)
            except Exception as exc:  # noqa: BLE001 - a setup error fails the part
                r.check(f"{part.__name__}.setup",
                        lambda exc=exc: f"{type(exc).__name__}: {exc}")
    print(f"{r.passed} passed, {r.failed} failed")
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
