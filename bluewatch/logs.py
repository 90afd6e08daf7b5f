"""Logging a technician can read: time, level, component, node id on every line."""

from __future__ import annotations

import logging
import sys


class _NodeFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "node"):
            record.node = "-"
        return True


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_NodeFilter())
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)-7s [%(node)s] %(name)s: %(message)s", "%H:%M:%S"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("amqtt", "transitions", "uvicorn.access", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def node_logger(name: str, node_id: str) -> logging.LoggerAdapter[logging.Logger]:
    """A logger that stamps ``node_id`` on every line."""
    return logging.LoggerAdapter(logging.getLogger(name), {"node": node_id})
