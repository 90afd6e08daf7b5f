"""MAVLink link dropping and coming back: the simulator's autopilot stopped and restarted on
the same UDP port (same boot: the link dropped), then replaced by a rebooted one. The real
source keeps what it had, refuses the gap with a reason, asks for its rates again and
follows the rebooted autopilot's new clock."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from hw.mavlink_source import DEFAULT_RATES_HZ, LINK_LOST_S, MavlinkPoseSource
from sim.links import UdpLink
from sim.mavlink import SimAutopilot
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[2]
ATTITUDE = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Pacer:
    """Simulated UTC that runs with the host clock (the source checks GNSS time against
    it), from the scenario start."""

    def __init__(self, world: World) -> None:
        self.t0_us = world.start_us + 2_000_000
        self.m0 = time.monotonic()

    def now_us(self) -> int:
        return self.t0_us + int((time.monotonic() - self.m0) * 1e6)

    def run(self, ap: SimAutopilot, seconds: float) -> tuple[int, int]:
        """Step ``ap`` every 10 ms of host time for ``seconds``; (first, last) step times."""
        first = self.now_us()
        end = time.monotonic() + seconds
        t = first
        while time.monotonic() < end:
            t = self.now_us()
            ap.step(t)
            time.sleep(0.01)
        return first, t


def test_link_drop_and_autopilot_reboot_on_the_same_port() -> None:
    world = World(load_scenario(ROOT / "sim/scenarios/crossroads.toml"), seed=4)
    port = _free_port()
    src = MavlinkPoseSource(f"udpin:127.0.0.1:{port}")
    pace = Pacer(world)
    try:
        ap1 = SimAutopilot(world, "uav1", UdpLink(f"127.0.0.1:{port}"))
        a0, a1 = pace.run(ap1, 1.2)
        ap1.close()
        before = src.pose_at((a0 + a1) // 2)
        assert before is not None and src.stats.clock_source == "autopilot"
        assert ap1.intervals_us[ATTITUDE] == int(1e6 / DEFAULT_RATES_HZ[ATTITUDE])

        # Link down: nothing arrives; a frame now gets no pose (and the source does not
        # stall the node waiting for a silent link).
        time.sleep(LINK_LOST_S + 0.5)
        now = pace.now_us()
        assert src.pose_at(now) is None
        assert "after the last sample" in src.lookup(now).reason

        # The link comes back (a new process on the same port, same boot).
        ap2 = SimAutopilot(world, "uav1", UdpLink(f"127.0.0.1:{port}"))
        b0, b1 = pace.run(ap2, 1.2)
        after = src.pose_at(b1 - 300_000)
        assert after is not None
        st = src.stats
        assert st.link_drops == 1 and st.reboots == 0
        assert src.pose_at((a0 + a1) // 2) == before  # what came before the drop is kept
        assert "gap" in src.lookup((a1 + b0) // 2).reason  # the silence is refused, with why
        # The rates were asked for again of whoever is there now.
        assert ap2.commands >= len(DEFAULT_RATES_HZ)
        assert ap2.intervals_us[ATTITUDE] == int(1e6 / DEFAULT_RATES_HZ[ATTITUDE])
        ap2.close()

        # The autopilot rebooted: its boot clock restarts; old samples are void.
        ap3 = SimAutopilot(world, "uav1", UdpLink(f"127.0.0.1:{port}"))
        ap3.boot_us = pace.now_us() - 5_000_000
        c0, c1 = pace.run(ap3, 1.2)
        ap3.close()
        assert src.stats.reboots == 1
        assert src.pose_at(b1 - 300_000) is None
        rebooted = src.pose_at(c1 - 300_000)
        assert rebooted is not None and src.stats.clock_source == "autopilot"
        truth = world.camera_pose("uav1", c1 - 300_000)
        assert abs(rebooted.lat_deg - truth.lat_deg) < 5e-5  # GNSS noise of metres only
        assert ap3.commands >= len(DEFAULT_RATES_HZ)
        assert src.status() == {"gnss_fix": "3d", "gnss_integrity": "ok", "clock": "autopilot"}
    finally:
        src.close()
