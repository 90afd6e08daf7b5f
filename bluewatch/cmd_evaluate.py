"""``bluewatch evaluate``: a scenario end to end through a real broker (an ephemeral
Mosquitto unless ``--broker`` is given), with the real node and station code (the Chain) on
the simulator's virtual clock, scored against the truth; metrics in ``DIR/metrics.json``.

What is measured, and where it comes from:

- detections_published: detections the nodes handed to their publishers (``Node.stats``);
  detections_stored: rows in the station's store after the run; detections_received:
  stored plus those in batches the station received again (duplicates, counted by a hook on
  the store's ``add_batch``); duplicates: duplicate batches (the station's ingest counts).
- detection precision/recall, geolocation CEP: every stored batch (decoded from the store's
  raw payloads) against the camera views of the truth (``sim.score.score``).
- gospa_mean_m, mota, idf1: every picture the station's fusion computed during the scenario
  (a hook on ``Station.fuse_once``), its tracks converted to the scenario's ENU plane and
  compared with the truth at the picture's time (``Tracks.t_us``).
- track_truth_locatable_share: of those truth instants, the share some camera seeing the
  target could place within the 5 m gate with one pixel of error (a ceiling on track
  recall that the scenario's geometry sets: far views from low masts cannot meet it).
- latency_p50_ms / latency_p99_ms, capture to fused track: for each frame with at least one
  detection, the wall-clock time (``time.monotonic``) from the node reading the frame from
  its source to the end of the first fusion step that has applied it, i.e. the first step
  that started after the station stored the frame's batch and whose picture time is at or
  after the frame's capture time. It includes the node's batching (``publish.batch_period_s``
  of capture time), the broker, ingest and the tracker's reorder window; at virtual speed
  those capture-time waits take whatever wall time the simulator needs. The wall clock is
  only read beside the data by the hooks, never put into it. Frames read before the hooks
  were installed (the first instants of the run) have no sample.

A component that fails (a node or station thread raising, a node's source failing, the
broker dying, batches never reaching the store) fails the run with its error and exit code
1, and no metrics file is written. Bad input (files, names) exits with 2.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from bluewatch.broker import BrokerError, MosquittoBroker
from bluewatch.chain import Chain, ChainSpec
from bluewatch.evaluation import (
    Probes,
    detection_frames,
    install_probes,
    latencies_ms,
    replay_fusion,
    stored_batches,
    track_frames,
)
from edge.config import NodeConfig, load_node_config
from edge.configfile import ConfigError
from edge.mqtturl import BrokerURL, parse_broker_url
from edge.wire import DetectionBatch, Tracks, WireError
from ground_station.config import load_station_config
from ground_station.fusion_wire import LiveFusion, StationOrigin
from ground_station.service import make_tracker
from sim.scenario import Scenario, load_scenario
from sim.score import score
from sim.truth import (
    SEEN_MIN_INSIDE,
    SEEN_MIN_PX,
    TruthLog,
    TruthWriter,
    locatable_share,
    truth_en_at,
    view_of,
)
from sim.world import World

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# scenario name -> config folder under configs/ (default: the scenario's own name)
CONFIG_DIRS: dict[str, str] = {"crossroads": "demo"}
TRUTH_STEP_US = 100_000  # the truth file's time step
PROGRESS_EVERY_S = 10.0
LINK_LOST_FAIL_S = 10.0  # the station off the broker this long (wall) fails the run
MOT_GATE_M = 5.0  # MOTA / IDF1 / HOTA match distance (issue: py-motmetrics, 5 m gate)
REPLAY_DELIVERY_S = 0.5  # --rescore: a batch reaches the station this long after its end
TRACK_TRUTH = (
    "targets seen by at least one camera at each instant (at least"
    f" {SEEN_MIN_INSIDE:.0%} of the target's box in the image, at least"
    f" {SEEN_MIN_PX:g} px on each side)"
)


class RunFailed(RuntimeError):
    """A component of the run failed; the message names it."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", required=True, help="scenario file, or a name in sim/scenarios")
    p.add_argument("--out", type=Path, required=True, help="folder for metrics.json and truth")
    p.add_argument("--broker", help="use this MQTT broker (mqtt://host:port), not a Mosquitto")
    p.add_argument("--duration", type=float, help="simulated seconds (default: the scenario's)")
    p.add_argument(
        "--configs",
        type=Path,
        help="folder of station.toml and node *.toml (default: configs/demo for crossroads, "
        "configs/NAME for the others)",
    )
    p.add_argument("--seed", type=int, help="world seed (default: the scenario's)")
    p.add_argument(
        "--rescore",
        action="store_true",
        help="do not run the scenario: put the detections an earlier run stored under --out "
        "through the station's tracker again (fusion settings from --configs) and score the "
        "tracks; writes DIR/metrics-rescore.json. Seconds instead of minutes when tuning fusion",
    )


def _scenario_path(arg: str) -> Path:
    p = Path(arg)
    if p.is_file():
        return p
    bundled = Path(str(files("sim").joinpath(f"scenarios/{arg}.toml")))
    if bundled.is_file():
        return bundled
    names = sorted(q.stem for q in Path(str(files("sim").joinpath("scenarios"))).glob("*.toml"))
    raise ConfigError(arg, "--scenario", f"no such file or scenario (known: {', '.join(names)})")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------- run


def _progress(text: str) -> None:
    print(f"evaluate: {text}", file=sys.stderr, flush=True)


@dataclass
class Run:
    chain: Chain
    probes: Probes
    broker: MosquittoBroker | None
    end_us: int
    start_us: int
    lost_since_s: float | None = None  # when the station lost the broker (wall)

    def check(self) -> None:
        """Raise RunFailed when a component has failed."""
        if self.probes.errors:
            raise RunFailed("; ".join(self.probes.errors))
        for rn in self.chain.nodes:
            if rn.error is not None:
                raise RunFailed(f"node {rn.config.node_id}: source failed: {rn.error}")
        if self.broker is not None and (
            self.broker.proc is None or self.broker.proc.poll() is not None
        ):
            raise RunFailed(f"the Mosquitto broker on {self.broker.url} died")
        st = self.chain.station
        assert st is not None
        if st.connected.is_set():
            self.lost_since_s = None
        elif self.lost_since_s is None:
            self.lost_since_s = time.monotonic()
        elif time.monotonic() - self.lost_since_s > LINK_LOST_FAIL_S:
            raise RunFailed(f"the station lost the broker {self.chain.broker_url} for good")

    def wait_nodes(self, t0: float) -> None:
        done = threading.Event()

        def wait() -> None:
            self.chain.wait(done)
            done.set()

        waiter = threading.Thread(target=wait, name="evaluate-wait")
        waiter.start()
        last = time.monotonic()
        try:
            while not done.wait(0.5):
                self.check()
                if time.monotonic() - last >= PROGRESS_EVERY_S:
                    last = time.monotonic()
                    with self.probes.lock:
                        ts = list(self.probes.latest_t_us.values()) or [self.start_us]
                    st = self.chain.station
                    assert st is not None
                    _progress(
                        f"{(min(ts) - self.start_us) / 1e6:.0f}/"
                        f"{(self.end_us - self.start_us) / 1e6:.0f} simulated s (nodes "
                        f"{(max(ts) - min(ts)) / 1e6:.1f} s apart), {last - t0:.0f} s wall, "
                        f"{st.ingest.counts['stored']} batches stored"
                    )
            self.check()
        finally:
            done.set()
            waiter.join()

    def wait_delivery(self, timeout_s: float) -> int:
        """Until the station stored every batch the nodes sent; returns that number."""
        st = self.chain.station
        assert st is not None
        want = sum(len(n.sender.sent) for n in self.chain.nodes)
        deadline = time.monotonic() + timeout_s
        while st.ingest.counts["stored"] < want:
            self.check()
            if time.monotonic() > deadline:
                raise RunFailed(
                    f"the station stored {st.ingest.counts['stored']} of the {want} batches "
                    f"the nodes sent within {timeout_s:.0f} s of the end"
                )
            time.sleep(0.05)
        return want

    def wait_picture(self, t_us: int, timeout_s: float) -> None:
        """Until a fusion picture reaches ``t_us`` (the last capture), or ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.probes.lock:
                if self.probes.ticks and self.probes.ticks[-1][2].t_us >= t_us:
                    return
            self.check()
            time.sleep(0.1)
        _progress(f"warning: the last picture stops short of the last capture ({t_us})")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ConfigError, BrokerError, WireError, ValueError) as e:
        print(f"bluewatch evaluate: {e}", file=sys.stderr)
        return 2
    except RunFailed as e:
        print(f"bluewatch evaluate: run failed, no metrics written: {e}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    wall0 = time.monotonic()
    scenario_file = _scenario_path(args.scenario)
    sc = load_scenario(scenario_file)
    cfg_dir: Path = args.configs or REPO_CONFIGS / CONFIG_DIRS.get(sc.name, sc.name)
    if not (cfg_dir / "station.toml").is_file():
        raise ConfigError(str(cfg_dir), "--configs", "no station.toml in this folder")
    nodes = _node_config_paths(cfg_dir)
    out: Path = args.out
    if args.rescore:
        return _rescore(sc, cfg_dir, out, wall0)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.json"
    # a metrics file from an earlier run must not pass for this one's
    metrics_path.unlink(missing_ok=True)
    # the store and spools of an earlier run would mix with this one's
    shutil.rmtree(out / "run", ignore_errors=True)
    station_cfg = load_station_config(cfg_dir / "station.toml")
    broker = None if args.broker else MosquittoBroker()
    url: BrokerURL = parse_broker_url(args.broker) if args.broker else broker.url  # type: ignore[union-attr]
    chain = Chain(
        ChainSpec(
            scenario=scenario_file,
            station_config=cfg_dir / "station.toml",
            node_configs=nodes,
            workdir=out / "run",
            broker=url,
            realtime=False,
            duration_s=args.duration,
            http_port=0,
            serve_http=False,
            seed=sc.seed if args.seed is None else args.seed,
        )
    )
    chain.load()
    scenario_cams = [u.id for u in sc.uavs] + [m.id for m in sc.masts]
    for path, n in zip(nodes, chain._node_cfgs, strict=True):  # noqa: SLF001
        cam = n.camera.source.split("://", 1)[-1]
        if n.camera.source.startswith("sim://") and cam not in scenario_cams:
            raise ConfigError(
                str(path),
                "camera.source",
                f"scenario {sc.name} has no camera {cam!r} (it has {', '.join(scenario_cams)})",
            )
    # Several runs (tests, other users) share this machine: each simulated autopilot gets a
    # free UDP port in place of the config's fixed one, so two runs never cross telemetry.
    chain._node_cfgs = [  # noqa: SLF001 - the chain offers no other hook before start
        n.model_copy(
            update={
                "pose": n.pose.model_copy(
                    update={"source": n.pose.source.rsplit(":", 1)[0] + f":{_free_udp_port()}"}
                )
            }
        )
        if n.pose.source.startswith("udpin:")
        else n
        for n in chain._node_cfgs  # noqa: SLF001
    ]
    # Nodes run free in virtual time, each as fast as this machine renders and detects for
    # it, and a busy machine can keep one from publishing for several wall seconds: that is
    # not a lost link, so it keeps holding the picture back (a crashed node fails the run).
    st_cfg = chain._station_cfg  # noqa: SLF001
    chain._station_cfg = st_cfg.model_copy(  # noqa: SLF001
        update={"fusion": st_cfg.fusion.model_copy(update={"node_silent_s": 600.0})}
    )
    cameras = _cameras(chain._node_cfgs)  # noqa: SLF001
    if broker is not None:
        broker.start()
        _progress(f"Mosquitto on {broker.url}")
    probes = Probes()
    prev_hook = threading.excepthook
    threading.excepthook = probes.excepthook(prev_hook)
    started = ok = False
    try:
        try:
            chain.start()
        except (ConfigError, BrokerError):
            raise
        except Exception as e:  # noqa: BLE001 - any part that cannot start fails the run
            raise RunFailed(f"the chain could not start: {type(e).__name__}: {e}") from e
        started = True
        install_probes(chain, probes)
        assert chain.world is not None and chain.station is not None
        world, st = chain.world, chain.station
        _progress(
            f"scenario {sc.name}: {(world.end_us - world.start_us) / 1e6:.0f} simulated s, "
            f"nodes {', '.join(n.config.node_id for n in chain.nodes)}, broker {url}"
        )
        r = Run(chain, probes, broker, world.end_us, world.start_us)
        r.wait_nodes(wall0)
        _progress("nodes done; waiting for delivery and the last pictures")
        r.wait_delivery(30.0)
        st.clock.release()  # everything is delivered: let the picture run to the end
        last_t = max((t for _, _, t in probes.arrivals), default=world.start_us)
        r.wait_picture(last_t, station_cfg.fusion.reorder_window_s + 10.0)
        r.check()
        published = sum(n.node.stats.detections for n in chain.nodes)
        counts = dict(st.ingest.counts)
        tracker_counts = dict(st.fusion.tracker.counts()) | dict(st.fusion.counts)
        pictures = st.pictures
        ok = True
    finally:
        if started or chain.station is not None:
            # a failed run has nothing left worth draining
            chain.stop(drain_s=5.0 if ok else 1.0)
        threading.excepthook = prev_hook
        if broker is not None:
            broker.stop()
    if probes.errors:
        raise RunFailed("; ".join(probes.errors))
    run_wall_s = time.monotonic() - wall0
    _progress(f"run done in {run_wall_s:.0f} s wall; scoring")

    batches = stored_batches(out / "run" / station_cfg.store.path.name)
    stored = sum(len(f.detections) for b in batches for f in b.frames)
    with TruthWriter(out / "truth.jsonl", world) as tw:
        for t in range(world.start_us, world.end_us + 1, TRUTH_STEP_US):
            tw.write(t)
    with probes.lock:
        pics = [x[2] for x in probes.ticks]
    m: dict[str, Any] = {
        "scenario": sc.name,
        "seed": world.seed,
        "track_truth": TRACK_TRUTH,
    }
    m.update(_score(world, batches, cameras, pics))
    lat, never = latencies_ms(probes)
    m.update(
        {
            "detections_published": published,
            "detections_received": stored + probes.duplicate_detections,
            "detections_stored": stored,
            "duplicates": int(counts.get("duplicate", 0)),
            "batches_stored": int(counts.get("stored", 0)),
            "batches_rejected": int(counts.get("rejected", 0)),
            "latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else math.nan,
            "latency_p99_ms": float(np.percentile(lat, 99)) if lat.size else math.nan,
            "latency_frames": int(lat.size),
            "latency_frames_never_fused": never,
            "pictures": pictures,
            "tracker_too_late": int(tracker_counts.get("too_late", 0)),
            "node_skew_max_s": probes.max_spread_us / 1e6,
            "tracker_rejected": {k: int(v) for k, v in tracker_counts.items() if k != "scans"},
            "simulated_s": (world.end_us - world.start_us) / 1e6,
            "wall_time_s": time.monotonic() - wall0,
            "truth_file": str(out / "truth.jsonl"),
        }
    )
    clean = _write_metrics(metrics_path, m)
    print(summary(clean))
    print(metrics_path)
    return 0


def _rescore(sc: Scenario, cfg_dir: Path, out: Path, wall0: float) -> int:
    """``--rescore``: the stored detections of the run in ``out`` through the tracker of
    ``cfg_dir``'s station config, in data time (``bluewatch.evaluation.replay_fusion``),
    scored as a run's tracks are."""
    truth_path = out / "truth.jsonl"
    if not truth_path.is_file():
        raise ConfigError(str(out), "--rescore", "no truth.jsonl: not the folder of a finished run")
    head = TruthLog.read(truth_path).header
    if head.get("scenario") != sc.name:
        raise ConfigError(
            str(out), "--rescore", f"the run there is of scenario {head.get('scenario')!r}"
        )
    station_cfg = load_station_config(cfg_dir / "station.toml")
    db = out / "run" / station_cfg.store.path.name
    if not db.is_file():
        raise ConfigError(str(out), "--rescore", f"no station store at {db}")
    duration_s = (int(head["end_us"]) - int(head["start_us"])) / 1e6
    world = World(sc.model_copy(update={"duration_s": duration_s}), seed=int(head["seed"]))
    batches = stored_batches(db)
    f = station_cfg.fusion
    o = station_cfg.origin
    fusion = LiveFusion(
        make_tracker(f), StationOrigin(o.lat_deg, o.lon_deg, o.alt_m), station_cfg.station_id
    )
    pics = replay_fusion(
        batches,
        fusion,
        tick_us=int(round(1e6 / f.tick_hz)),
        delivery_us=int(REPLAY_DELIVERY_S * 1e6),
        until_us=world.end_us + int(f.reorder_window_s * 1e6),
    )
    cameras = _cameras(load_node_config(p) for p in _node_config_paths(cfg_dir))
    m: dict[str, Any] = {
        "scenario": sc.name,
        "seed": world.seed,
        "rescored_from": str(db),
        "station_config": str(cfg_dir / "station.toml"),
        "replay": f"each batch delivered {REPLAY_DELIVERY_S:g} s after its last capture, a "
        f"picture every {1 / f.tick_hz:g} s of data time",
        "track_truth": TRACK_TRUTH,
    }
    m.update(_score(world, batches, cameras, pics))
    counts = dict(fusion.tracker.counts()) | dict(fusion.counts)
    m["pictures"] = len(pics)
    m["tracker_rejected"] = {k: int(v) for k, v in counts.items() if k != "scans"}
    m["simulated_s"] = duration_s
    m["wall_time_s"] = time.monotonic() - wall0
    path = out / "metrics-rescore.json"
    clean = _write_metrics(path, m)
    print(
        f"rescored {len(batches)} stored batches through {cfg_dir / 'station.toml'}: GOSPA "
        f"{clean.get('gospa_mean_m')} m  MOTA {clean.get('mota')}  IDF1 {clean.get('idf1')}"
    )
    print(path)
    return 0


def _node_config_paths(cfg_dir: Path) -> list[Path]:
    return sorted(p for p in cfg_dir.glob("*.toml") if p.name != "station.toml")


def _cameras(node_cfgs: Iterable[NodeConfig]) -> dict[str, str]:
    """Node id -> the scenario camera it reads (``sim://CAMERA``)."""
    return {n.node_id: n.camera.source.split("://", 1)[-1] for n in node_cfgs}


def _score(
    world: World, batches: list[DetectionBatch], cameras: dict[str, str], pics: list[Tracks]
) -> dict[str, float]:
    """Detections against the cameras' views, tracks against the targets some camera sees
    at the picture's instant (``sim.score.score``), and the share of those a camera could
    place within the gate at all (``sim.truth.locatable_share``)."""
    frames = track_frames(world, pics)
    m = score(
        detection_frames(world, batches, cameras),
        lambda cam, t: view_of(world, cam, t),
        frames,
        truth_en_at(world, visible_only=True),
        gospa_c_m=10.0,
        mot_gate_m=MOT_GATE_M,
    )
    m["track_truth_locatable_share"] = locatable_share(world, [f.t_us for f in frames], MOT_GATE_M)
    return m


def _write_metrics(path: Path, m: dict[str, Any]) -> dict[str, Any]:
    """Write ``m`` as JSON (non-finite figures as null) and return what was written."""
    clean = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in m.items()
    }
    path.write_text(json.dumps(clean, indent=2) + "\n", encoding="utf-8")
    return clean


def summary(m: dict[str, Any]) -> str:
    def f(key: str, fmt: str = ".3f") -> str:
        v = m.get(key)
        return "n/a" if v is None else format(v, fmt)

    return "\n".join(
        [
            f"scenario {m['scenario']}: {m['simulated_s']:.0f} simulated s in "
            f"{m['wall_time_s']:.0f} s wall",
            f"  detections  precision {f('detection_precision')}  recall "
            f"{f('detection_recall')}  (uav {f('detection_recall_uav')}, mast "
            f"{f('detection_recall_mast')})",
            f"  geolocation CEP50 {f('geoloc_cep50_m', '.2f')} m  CEP95 "
            f"{f('geoloc_cep95_m', '.2f')} m",
            f"  tracks      GOSPA {f('gospa_mean_m', '.2f')} m  MOTA {f('mota')}  IDF1 "
            f"{f('idf1')}  id switches {m.get('id_switches', 'n/a')}  (truth a camera can "
            f"place within the gate: {f('track_truth_locatable_share')})",
            f"  delivery    published {m['detections_published']}  received "
            f"{m['detections_received']}  stored {m['detections_stored']}  duplicates "
            f"{m['duplicates']}",
            f"  latency     capture to fused track p50 {f('latency_p50_ms', '.0f')} ms  p99 "
            f"{f('latency_p99_ms', '.0f')} ms",
        ]
    )
