"""TLS for tests: a throwaway PKI (the ``cryptography`` package) and a TLS-terminating proxy
on loopback in front of the real broker (``tls_proxy.py``, its own process).

The proxy stands in for RabbitMQ's ``ssl`` listener: the client side, which is what
``AMQP_TLS`` configures, sees a real TLS server with the certificate the test chose.
"""
from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Issued:
    cert: Path
    key: Path


class TestCa:
    """A certificate authority that exists for one test."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path, name: str):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.name = subject
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(
                         digital_signature=True, key_cert_sign=True, crl_sign=True,
                         content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, encipher_only=False,
                         decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                         self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.file = folder / f"{_slug(name)}.pem"
        self.file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
              client: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        names = [x509.DNSName(name) for name in dns] + [
            x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                               common_name)]))
                   .issuer_name(self.name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.CLIENT_AUTH if client
                        else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.key.public_key()), critical=False))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        stem = self.folder / _slug(common_name)
        issued = Issued(stem.with_suffix(".crt"), stem.with_suffix(".key"))
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        os.chmod(issued.key, 0o600)
        return issued


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


@dataclass
class TlsProxy:
    port: int
    log: Path

    def sessions(self) -> list[str]:
        """One line per accepted TLS session: 'accepted <version> client=<subject>'."""
        return [line for line in self.log.read_text().splitlines()
                if line.startswith("accepted ")]


@contextlib.contextmanager
def tls_proxy(server: Issued, upstream: tuple[str, int], log: Path,
              client_ca: Path | None = None, port: int = 0):
    """A TLS listener on 127.0.0.1 (``port``, else a free one) that forwards to ``upstream``;
    stopped (by its process id) when the block ends, and its connections with it."""
    command = [sys.executable, str(Path(__file__).with_name("tls_proxy.py")),
               "--cert", str(server.cert), "--key", str(server.key),
               "--upstream", f"{upstream[0]}:{upstream[1]}"]
    if client_ca:
        command += ["--client-ca", str(client_ca)]
    if port:
        command += ["--port", str(port)]
    with open(log, "w") as log_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True)
    try:
        line = process.stdout.readline()  # the port, once it listens
        if not line.strip().isdigit():
            raise RuntimeError(f"the TLS proxy did not start: {log.read_text()[-500:]}")
        yield TlsProxy(int(line), log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
