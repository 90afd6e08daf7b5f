"""Serial device URLs as configs and ``bluewatch sim`` write them.

Accepted: ``serial:///dev/ttyUSB0?baud=9600``, ``/dev/ttyUSB0?baud=9600``, ``/dev/ttyUSB0``,
``pelco:///dev/ttyUSB1?baud=9600&address=1``, and pyserial's own URLs (``loop://``,
``rfc2217://host:port``) which are passed to ``serial.serial_for_url`` unchanged.
``baud=auto`` (or no baud) leaves the rate to detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

# Schemes that only say "this is a serial device" (the device is the URL's path).
_DEVICE_SCHEMES = {"", "serial", "pelco", "nmea", "gnss"}


class SerialUrlError(ValueError):
    """A serial URL that cannot be understood (names the URL and the reason)."""


@dataclass(frozen=True)
class SerialUrl:
    """device: what ``serial.serial_for_url`` opens. baud: None when it must be detected.
    params: the other query parameters (e.g. ``address`` of a Pelco-D head)."""

    device: str
    baud: int | None
    params: dict[str, str] = field(default_factory=dict)


def parse_serial_url(url: str) -> SerialUrl:
    """Split a serial URL into device, baud rate and the remaining parameters."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    baud_text = query.pop("baud", "auto").strip().lower()
    if parts.scheme in _DEVICE_SCHEMES:
        device = parts.path if parts.scheme else url.split("?", 1)[0]
    else:
        device = url.split("?", 1)[0]  # a pyserial URL handler (loop://, rfc2217://, ...)
    if not device:
        raise SerialUrlError(f"serial URL {url!r} names no device")
    baud: int | None = None
    if baud_text not in ("", "auto"):
        try:
            baud = int(baud_text)
        except ValueError:
            raise SerialUrlError(
                f"serial URL {url!r}: baud {baud_text!r} is not a number"
            ) from None
        if baud <= 0:
            raise SerialUrlError(f"serial URL {url!r}: baud must be positive")
    return SerialUrl(device, baud, query)
