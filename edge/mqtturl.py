"""Broker addresses: ``mqtt://host:port`` (plain) or ``mqtts://host:port`` (TLS)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class BrokerURL:
    host: str
    port: int
    tls: bool = False

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerURL:
    """Parse a broker URL; raises ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r}: no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"broker URL {url!r}: bad port") from None
    tls = parts.scheme == "mqtts"
    return BrokerURL(parts.hostname, port or (8883 if tls else 1883), tls)
