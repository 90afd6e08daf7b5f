"""Bluewatch simulator: a world with ground truth and simulated devices that speak the real
protocols at the hardware boundary.

API. ``sim.scenario.load_scenario(path) -> Scenario`` reads a TOML scenario (pydantic
models on ``edge.configfile.Section``; errors are ``ConfigError`` naming file, key and
reason). ``sim.world.World(scenario, seed)`` is the truth: ``truth_at(t_us) ->
TargetsTruth`` (frozen dataclass of arrays: ``ids`` (N,), ``enu_m`` (N, 3), ``vel_enu_mps``
(N, 3), ``size_m`` (N, 2) width/length, ``height_m``, ``heading_rad``, ``kind``) in the
scenario's local ENU frame (metres from ``origin`` = (lat_deg, lon_deg, alt_m));
``camera_pose(camera_id, t_us) -> edge.types.Pose`` (true pose), ``camera_model(camera_id)
-> edge.types.CameraModel``, ``camera_ids``, ``start_us``/``end_us`` (UTC µs). Every time is
UTC microseconds and an argument; nothing reads the wall clock. ``sim.camera.SimCamera(world,
camera_id, clock)`` is an ``edge.ports.FrameSource`` (grey frames rendered from the true
pose at their capture time; ``EndOfStream`` at the scenario end) and
``sim.camera.SimPoseSource(world, camera_id)`` an ``edge.ports.PoseSource`` with the
scenario's noise and faults (a stop-gap: the real pose path is the MAVLink autopilot).
``sim.clock.VirtualClock(start_us, step_us)`` and ``sim.clock.RealTimeClock`` share one
interface (``now_us``, ``wait_until``, ``tick``).

Frames: camera x right, y down, z forward (OpenCV); body FRD relative to NED with Z-Y-X
Euler angles (MAVLink ATTITUDE); gimbal angles Z-Y-X relative to the body with the optical
axis along the gimbal's forward axis (pitch -90 deg = straight down for a level body); see
``sim.geometry``. The sim never imports ``hw``.
"""
