"""A private certificate authority and serving certificate for the dev server.

kubectl sends bearer tokens only over TLS, so even a loopback server needs a certificate. The CA
goes into the kubeconfig (``certificate-authority-data``) so clients verify the server without
any system-wide trust change. With a data directory, the files are kept there and reused, so a
kubeconfig stays valid across restarts.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ServingCertificates"]

_VALIDITY = timedelta(days=3650)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass
class ServingCertificates:
    """PEM bytes of the CA certificate and of the server's certificate and key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    names: tuple[str, ...]

    @classmethod
    def generate(cls, hosts: tuple[str, ...]) -> ServingCertificates:
        """A new CA and a server certificate valid for ``hosts`` (names or IP addresses)."""
        now = datetime.now(UTC) - timedelta(minutes=5)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kontinue-dev-ca")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        alt_names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt_names.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kontinue-dev")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        return cls(
            ca.public_bytes(serialization.Encoding.PEM),
            cert.public_bytes(serialization.Encoding.PEM),
            _pem_key(key),
            tuple(hosts),
        )

    @classmethod
    def load_or_create(cls, directory: Path, hosts: tuple[str, ...]) -> ServingCertificates:
        """Reuse the certificates in ``directory`` if they cover ``hosts``, else make new ones."""
        paths = [directory / n for n in ("ca.crt", "server.crt", "server.key", "server.hosts")]
        if all(p.exists() for p in paths):
            known = tuple(paths[3].read_text().split())
            if set(hosts) <= set(known):
                return cls(
                    paths[0].read_bytes(), paths[1].read_bytes(), paths[2].read_bytes(), known
                )
        certs = cls.generate(hosts)
        _write(paths[0], certs.ca_pem, 0o644)
        _write(paths[1], certs.cert_pem, 0o644)
        _write(paths[2], certs.key_pem, 0o600)
        _write(paths[3], " ".join(hosts).encode(), 0o644)
        return certs

    @property
    def ca_data(self) -> str:
        """The CA as kubeconfig's base64 ``certificate-authority-data``."""
        return base64.b64encode(self.ca_pem).decode()

    def server_context(self, scratch: Path) -> ssl.SSLContext:
        """An SSL context serving the certificate (``scratch`` holds the PEM files briefly)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert_file, key_file = scratch / ".serving.crt", scratch / ".serving.key"
        _write(cert_file, self.cert_pem, 0o600)
        _write(key_file, self.key_pem, 0o600)
        try:
            context.load_cert_chain(cert_file, key_file)
        finally:
            cert_file.unlink()
            key_file.unlink()
        return context
