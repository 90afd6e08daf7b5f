"""A mast camera's PoseSource: the Pelco-D head's pan/tilt and the mount survey
(``hw.pelco.PelcoPoseSource``), with the position of a serial GNSS receiver
(``hw.gnss_serial.GnssSerialSource``) when the mast has one.

The combination is ``edge.pose.mast.with_gnss`` (sans-I/O); this module only holds the two
adapters and reports their state in the node's status.
"""

from __future__ import annotations

from edge.pose.mast import MastGnssParams, with_gnss
from edge.types import Pose
from hw.gnss_serial import GnssSerialSource, fix_label
from hw.pelco import PelcoPoseSource


class MastPoseSource:
    """PoseSource of a mast: ``head`` gives the camera's orientation and the surveyed
    position; ``gnss`` (optional) replaces the horizontal position and brings its integrity
    verdict (detections ``no_fix`` or ``gnss_suspect`` when the receiver is not trusted).
    ``last_reason`` says why the latest pose is missing or not trusted ("" when fine)."""

    def __init__(
        self,
        head: PelcoPoseSource,
        gnss: GnssSerialSource | None = None,
        params: MastGnssParams | None = None,
    ) -> None:
        self.head = head
        self.gnss = gnss
        self.params = params or MastGnssParams()
        self.last_reason = ""
        self.no_fix_frames = 0
        self.suspect_frames = 0
        self._fix_ok = True

    def pose_at(self, t_us: int) -> Pose | None:
        pose = self.head.pose_at(t_us)
        if pose is None:
            self.last_reason = self.head.last_reason
            return None
        if self.gnss is None:
            self.last_reason = ""
            return pose
        r = self.gnss.latest
        if r is None:
            out = with_gnss(pose, None, None, False, False, (), self.params)
        else:
            v = r.verdict
            out = with_gnss(pose, r.fix, r.host_us, v.fix_ok, v.suspect, v.reasons, self.params)
        self.last_reason = out.reason
        self._fix_ok = out.pose.fix_ok
        self.no_fix_frames += not out.pose.fix_ok
        self.suspect_frames += out.pose.gnss_suspect
        return out.pose

    def status(self) -> dict[str, object]:
        """``gnss_fix`` / ``gnss_integrity`` for the node's status: the receiver's (with
        what makes the latest pose untrusted), or ``survey`` without a receiver."""
        if self.gnss is None:
            return self.head.status()
        st = self.gnss.status()
        r = self.gnss.latest
        st["gnss_fix"] = fix_label(r.fix if r is not None else None)
        if not self._fix_ok:
            st["gnss_fix"] = "none"  # stale or unusable for the latest frame
        if self.last_reason and st["gnss_integrity"] == "ok":
            # The receiver is fine on its own, but not for this mast (stale, or off the survey).
            st["gnss_integrity"] = "suspect: " + self.last_reason
        return st

    def close(self) -> None:
        try:
            self.head.close()
        finally:
            if self.gnss is not None:
                self.gnss.close()
