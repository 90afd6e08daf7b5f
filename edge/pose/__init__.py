"""Pose and time: a pose buffer that interpolates to capture times, GNSS integrity checks,
and sans-I/O parsers for NMEA 0183 and Pelco-D (fed bytes, no ports)."""
