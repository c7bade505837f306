"""A throwaway certificate authority for TLS tests, made with the ``openssl`` CLI.

The broker gets a PKCS#12 keystore (key, certificate signed by the CA, the CA itself)
with the address it listens on as a subject alternative name, so clients verify the
host name as they would in production.  Nothing here is ever kept beyond a test's tmp dir.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TestPKI", "make_pki"]


@dataclass(frozen=True)
class TestPKI:
    """Files of a CA and one server identity signed by it."""

    ca_cert: Path  # PEM, what clients trust (NEWSINGEST_KAFKA__SSL_CAFILE)
    keystore: Path  # PKCS#12: server key + certificate chain
    keystore_password: str


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("openssl CLI not found: install it with `apt-get install -y openssl`")
    done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr[-1500:]}")


def make_pki(folder: Path, *, host_ip: str = "127.0.0.1", days: int = 2) -> TestPKI:
    """A new CA and a server keystore for ``host_ip`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(12)
    (folder / "san.ext").write_text(
        f"subjectAltName=IP:{host_ip},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
    )
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", str(days), "-subj", "/CN=newsingest test CA", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={host_ip}", cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", str(days), "-extfile", "san.ext", cwd=folder,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key", "-certfile", "ca.pem",
        "-name", "broker", "-out", "server.p12", "-passout", f"pass:{password}", cwd=folder,
    )  # fmt: skip
    return TestPKI(ca_cert=folder / "ca.pem", keystore=folder / "server.p12", keystore_password=password)
