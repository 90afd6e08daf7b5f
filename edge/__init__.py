"""Bluewatch edge node: ports, the pure vision and geotagging cores, the wire contract,
the publisher with its spool, and the node's composition."""

__version__ = "0.1.0"
