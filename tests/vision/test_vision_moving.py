"""EgoMotionDetector: ego-motion estimate against a known homography, movers found while the
camera moves, unusable frames when ego-motion is lost, and a short sequence from the
simulator's renderer scored against its truth, bare and wrapped in tracklets as a node runs
it (measured on frames 12-29 of the bench clip: recall 0.966, precision 0.886 bare; 0.868
without dropping lit shadow ghosts, 0.883 without shadow edges, 0.828 without suppressing
detections nearer than apart_px; 957 targets found and 950 without reporting orphan
shadows' casters, 956 without coasting; recall 0.949, precision 0.896 with tracklets), a
mover seen only by its shadow reported at its body, a dark body without a shadow reported
where it is, and a grey mover whose body reads as shadow, in one blob with a bright
neighbour, reported too."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bluewatch.bench.motion import MOVING_WARM, ObjectScore, sim_clip
from edge.types import Frame
from edge.vision import EgoMotionDetector, FrameError, TrackedDetector, VisionConfigError
from edge.vision.moving import entering_strips


def big_ground(seed: int = 3) -> np.ndarray:
    """(900, 1200) uint8 textured ground at several scales."""
    rng = np.random.default_rng(seed)
    img = np.zeros((900, 1200), np.float32)
    for sigma, amp in ((1.5, 10), (4, 20), (12, 35)):
        n = cv2.GaussianBlur(rng.normal(0, 1, img.shape).astype(np.float32), (0, 0), sigma)
        img += amp * n / n.std()
    return np.clip(img + 120, 0, 255).astype(np.uint8)


def view(ground: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frame k (480x640) of a camera drifting right/down and turning slowly, and the
    homography ground -> frame."""
    a = np.deg2rad(0.15 * k)
    c, s = np.cos(a), np.sin(a)
    h = np.array([[c, -s, -150 - 3.0 * k], [s, c, -120 - 1.5 * k], [0, 0, 1]])
    img = cv2.warpPerspective(ground, h, (640, 480), flags=cv2.INTER_LINEAR)
    img = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    return img, h


def cast_shadow(img: np.ndarray, x: int, y: int) -> None:
    """The ground under a 12x20 body at (x, y) darkened to 0.55, running 24 px down."""
    sh = img[y + 20 : y + 44, x : x + 12].astype(np.float32) * 0.55
    img[y + 20 : y + 44, x : x + 12] = sh.astype(np.uint8)


def dark_mover(img: np.ndarray, x: int, y: int) -> None:
    """A dark 12x20 body at (x, y) with its shadow."""
    cast_shadow(img, x, y)
    img[y : y + 20, x : x + 12] = 15


def teachers(img: np.ndarray, k: int, n: int) -> None:
    """``n`` dark movers with their shadows across the top of frame ``k``, which teach the
    detector which way and how far shadows fall."""
    for j in range(n):
        dark_mover(img, 60 + 90 * j + 3 * k, 60)


def at_body_or_shadow(c: np.ndarray, x: int, y: int) -> tuple[bool, bool]:
    """Whether a detection (centroids ``c``) lies at the body at (x, y), and whether one
    lies at its shadow and not at the body."""
    dist_body = np.hypot(c[:, 0] - (x + 6), c[:, 1] - (y + 10))
    dist_shadow = np.hypot(c[:, 0] - (x + 6), c[:, 1] - (y + 32))
    return bool((dist_body < 8).any()), bool(((dist_shadow < 8) & (dist_body >= 8)).any())


def test_ego_motion_matches_the_true_homography() -> None:
    rng = np.random.default_rng(0)
    g = big_ground()
    det = EgoMotionDetector()
    (f0, h0), (f1, h1) = view(g, 0, rng), view(g, 1, rng)
    det.detect(Frame(0, f0))
    det.detect(Frame(100_000, f1))
    assert det.homography is not None
    true = h1 @ np.linalg.inv(h0)  # frame 0 -> frame 1
    pts = np.array([[[20.0, 20.0]], [[600.0, 40.0]], [[320.0, 240.0]], [[50.0, 450.0]]])
    est = cv2.perspectiveTransform(pts, det.homography)
    ref = cv2.perspectiveTransform(pts, true)
    assert np.abs(est - ref).max() < 0.5


def _reference_error(reregister: bool) -> float:
    """Median over frames of the worst error (px, over a grid) of the short reference's
    homography against the true ground-plane homography, on a simulated UAV's view."""
    from pathlib import Path

    import sim
    from sim.render import Renderer
    from sim.scenario import load_scenario
    from sim.world import World

    sc = load_scenario(Path(sim.__file__).parent / "scenarios" / "crossing.toml")
    world = World(sc, seed=sc.seed)
    ren = Renderer(world, "uav1", world.ground())
    tex = ren.tex

    def ground_to_image(t: int) -> np.ndarray:
        r, c = ren.pose_matrices(t)
        return ren._ground_h(r, c, tex.m_per_px, tex.half_extent_m)

    # five frames back: the direct fit's overlap shrinks with the gap (at 8 frames it
    # holds 2.2 px, still below the chain's drift)
    det = EgoMotionDetector(reregister=reregister, gap=5)
    grid = np.array([[[x, y]] for x in np.linspace(0, 1280, 9) for y in np.linspace(0, 720, 5)])
    worst = []
    for k in range(24):
        t = world.start_us + 60_000_000 + k * 100_000
        det.detect(Frame(t, ren.render(t)))
        if det.reference_homography is None:
            continue
        true = ground_to_image(t) @ np.linalg.inv(ground_to_image(t - det.gap * 100_000))
        a = cv2.perspectiveTransform(grid, true)
        b = cv2.perspectiveTransform(grid, det.reference_homography)
        worst.append(float(np.abs(a - b).max()))
    assert len(worst) >= 15
    return float(np.median(worst))


def test_short_reference_is_registered_directly_not_through_the_chain() -> None:
    """Chaining gap frame-to-frame homographies drifts by pixels at the frame's edges,
    which lights up high-contrast ground (tree crowns) as motion; the direct
    re-registration holds the reference within about a pixel."""
    direct, chained = _reference_error(True), _reference_error(False)
    assert direct < 1.5, direct
    assert chained > 2 * direct, (chained, direct)


def test_finds_movers_while_the_camera_moves() -> None:
    rng = np.random.default_rng(1)
    g = big_ground()
    det = EgoMotionDetector()
    hits, false, frames = 0, 0, 0
    for k in range(24):
        img, _ = view(g, k, rng)
        # A dark 14x14 "vehicle" crossing the frame at 6 px a frame, in frame coordinates.
        x, y = 100 + 6 * k, 300
        img[y : y + 14, x : x + 14] = 20
        d = det.detect(Frame(k * 100_000, img))
        if k == 0:
            assert not d.usable  # no history yet
            continue
        if k <= det.gap:
            continue  # the first movers' footprints are still being learnt
        frames += 1
        assert d.usable, d.reason
        near = (np.abs(d.centroid_px[:, 0] - (x + 7)) < 12) & (
            np.abs(d.centroid_px[:, 1] - (y + 7)) < 12
        )
        hits += bool(near.any())
        false += int(np.count_nonzero(~near))
    assert hits == frames
    assert false <= frames // 4


def test_featureless_view_is_unusable_not_motion() -> None:
    det = EgoMotionDetector()
    rng = np.random.default_rng(2)
    for k in range(4):
        flat = np.clip(128 + rng.normal(0, 0.3, (480, 640)), 0, 255).astype(np.uint8)
        d = det.detect(Frame(k, flat))
        assert not d.usable and len(d) == 0
    assert "ego-motion lost" in d.reason


def test_bad_input_and_parameters() -> None:
    det = EgoMotionDetector()
    with pytest.raises(FrameError, match="colour"):
        det.detect(Frame(0, np.zeros((480, 640, 3), np.uint8)))
    assert not det.detect(Frame(0, np.zeros((10, 10), np.uint8))).usable
    with pytest.raises(VisionConfigError, match="flow_scale"):
        EgoMotionDetector(work_scale=0.25, flow_scale=0.5)
    with pytest.raises(VisionConfigError, match="gap"):
        EgoMotionDetector(gap=0)
    with pytest.raises(VisionConfigError, match="shadow_ratio"):
        EgoMotionDetector(shadow_ratio=(0.8, 0.5))


def test_simulated_uav_sequence_recall_and_precision() -> None:
    """1920x1080 frames from the simulator's renderer (UAV orbiting a crowded square)."""
    clip = sim_clip(1920, 1080, 30)
    det = EgoMotionDetector()
    tracked = TrackedDetector(EgoMotionDetector())
    no_coast = EgoMotionDetector(coast_frames=0)
    no_lit = EgoMotionDetector(lit_frac=1.0)
    no_orphans = EgoMotionDetector(orphans=False)
    no_dim = EgoMotionDetector(dim_ratio=0.0)
    no_apart = EgoMotionDetector(apart_px=0.0)
    score, score_tracked, score_no_coast = ObjectScore(), ObjectScore(), ObjectScore()
    score_no_lit, score_no_orphans = ObjectScore(), ObjectScore()
    score_no_dim, score_no_apart = ObjectScore(), ObjectScore()
    for k, (t, img) in enumerate(zip(clip.t_us, clip.frames, strict=True)):
        d = det.detect(Frame(t, img))
        dt = tracked.detect(Frame(t, img))
        dn = no_coast.detect(Frame(t, img))
        dl = no_lit.detect(Frame(t, img))
        do = no_orphans.detect(Frame(t, img))
        dd = no_dim.detect(Frame(t, img))
        da = no_apart.detect(Frame(t, img))
        if k >= MOVING_WARM:
            assert d.usable, d.reason
            score.add(d.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
            score_tracked.add(dt.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
            score_no_coast.add(dn.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
            score_no_lit.add(dl.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
            score_no_orphans.add(do.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
            score_no_dim.add(dd.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
            score_no_apart.add(da.centroid_px, clip.boxes[k], clip.moving[k], (1080, 1920))
    assert score.eligible > 500
    # measured 0.966 / 0.886 bare, 0.949 / 0.896 with tracklets (the reference 8 frames
    # back, seed-cut pieces of 7 px; 0.917 / 0.933 and 0.901 / 0.940 with 5 frames and
    # 16 px). These are the history's first frames: over the bench's 68 frames precision
    # is 0.918.
    assert score.recall >= 0.95, score
    assert score.precision >= 0.87, score
    assert score_tracked.recall >= 0.93, score_tracked
    assert score_tracked.precision >= 0.88, score_tracked
    # Dropping the dim edges of shadows cut off as blobs removes false alarms only.
    assert score.precision > score_no_dim.precision, (score, score_no_dim)
    assert score.found >= score_no_dim.found, (score, score_no_dim)
    # One detection of two nearer than a body's width: fewer false alarms, by far more
    # than the targets it loses (9 of 1039 detections here, no target lost; the fresh
    # change a seed-cut piece needs already drops some of the others).
    assert score.precision >= score_no_apart.precision + 0.005, (score, score_no_apart)
    assert score.found >= score_no_apart.found - 5, (score, score_no_apart)
    # Dropping the lit ghosts of shadows that moved on removes false alarms only.
    # (0.018 here)
    assert score.precision >= score_no_lit.precision + 0.005, (score, score_no_lit)
    assert score.found >= score_no_lit.found, (score, score_no_lit)
    # Reporting the casters of orphan shadows finds grey movers beside seen ones (4 of 991
    # here).
    assert score.found >= score_no_orphans.found + 3, (score, score_no_orphans)
    # Coasting on weak blobs near the last detections loses no target (957 / 956 of 991
    # here; on the motion bench's clip it added 41 of 3,720 with 16 px seed pieces).
    assert score.found >= score_no_coast.found, (score, score_no_coast)


def test_neighbours_joined_by_a_shadow_are_reported_apart() -> None:
    """Two dark movers whose cast shadow bridges them (one blob after the closing) give two
    detections, one on each body, not one between them."""
    rng = np.random.default_rng(5)
    g = big_ground()
    det = EgoMotionDetector()
    d = None
    for k in range(12):
        img, _ = view(g, k, rng)
        x = 100 + 3 * k
        for by in (300, 344):
            dark_mover(img, x, by)
        d = det.detect(Frame(k * 100_000, img))
    assert d is not None and d.usable, d
    x = 100 + 3 * 11
    for by in (300, 344):
        near = (np.abs(d.centroid_px[:, 0] - (x + 6)) < 8) & (
            np.abs(d.centroid_px[:, 1] - (by + 10)) < 8
        )
        assert near.any(), (by, d.centroid_px)


def test_mover_seen_only_by_its_shadow_is_reported_at_its_body() -> None:
    """Six dark movers show body and shadow (the detector learns which way and how far
    shadows fall); a seventh has a body the grey of the ground and shows only its shadow.
    It is reported at its body, not at its shadow."""
    rng = np.random.default_rng(7)
    g = big_ground()
    det = EgoMotionDetector()
    near_body = near_shadow = 0
    for k in range(26):
        img, _ = view(g, k, rng)
        teachers(img, k, 6)
        x, y = 250 + 3 * k, 300
        cast_shadow(img, x, y)
        d = det.detect(Frame(k * 100_000, img))
        if k < 20:
            continue
        assert d.usable, d.reason
        body, shadow = at_body_or_shadow(d.centroid_px, x, y)
        near_body += body
        near_shadow += shadow
    assert near_body >= 5, near_body
    assert near_shadow == 0


def test_sparse_scene_learns_the_shadow_direction_over_frames() -> None:
    """Only two dark movers show body and shadow (fewer than shadow_pairs in any one
    frame); a third shows only its shadow. The pairs of recent frames together teach the
    shadow's direction and reach, so the third is reported at its body once they have;
    with no memory across frames it stays reported at its shadow."""

    def run(det: EgoMotionDetector) -> tuple[int, int]:
        rng = np.random.default_rng(7)
        g = big_ground()
        near_body = near_shadow = 0
        for k in range(24):
            img, _ = view(g, k, rng)
            teachers(img, k, 2)
            x, y = 250 + 3 * k, 300
            cast_shadow(img, x, y)
            d = det.detect(Frame(k * 100_000, img))
            if k < 18:
                continue
            body, shadow = at_body_or_shadow(d.centroid_px, x, y)
            near_body += body
            near_shadow += shadow
        return near_body, near_shadow

    assert run(EgoMotionDetector()) == (6, 0)
    assert run(EgoMotionDetector(shadow_memory=0.0)) == (0, 6)


def test_dark_body_without_its_shadow_is_not_moved_sunward() -> None:
    """Six dark movers show body and shadow (the detector learns which way and how far
    shadows fall); a seventh is a uniform body as dark as a shadow with no shadow of its
    own (the ratio test takes it for one). Bright ground lies sunward of it where its
    caster would stand, so it is reported where it is, not a shadow's reach away."""
    rng = np.random.default_rng(7)
    g = big_ground()
    det = EgoMotionDetector()
    near_body = far = 0
    for k in range(26):
        img, _ = view(g, k, rng)
        teachers(img, k, 6)
        x, y = 250 + 3 * k, 300
        patch = img[y : y + 20, x : x + 12]
        img[y : y + 20, x : x + 12] = np.uint8(0.55 * float(patch.mean()))
        d = det.detect(Frame(k * 100_000, img))
        if k < 20:
            continue
        assert d.usable, d.reason
        dist = np.hypot(d.centroid_px[:, 0] - (x + 6), d.centroid_px[:, 1] - (y + 10))
        near_body += bool((dist < 8).any())
        far += bool(((dist >= 8) & (dist < 40)).any())
    # Sampled along its own length (the blob itself, dark), 5 of these 6 frames moved it.
    assert near_body >= 5, near_body
    assert far <= 1, far


def test_grey_mover_beside_a_seen_one_is_reported_too() -> None:
    """Six dark movers teach the shadow's direction and reach. A bright mover and, 10 px
    beside it, a grey one (0.55 of the ground's grey, which the ratio test takes for
    shadow) walk together, each with its shadow; the closing makes them one blob, whose
    centroid is taken over the bright body only. The grey body and its shadow form a part
    of shadow pixels that no body casts, and its caster is reported as well. Without that
    step the grey mover is never reported."""

    def run(det: EgoMotionDetector) -> tuple[int, int]:
        rng = np.random.default_rng(7)
        g = big_ground()
        bright = grey = 0
        for k in range(26):
            img, _ = view(g, k, rng)
            teachers(img, k, 6)
            x, y, xg = 250 + 3 * k, 300, 272 + 3 * k
            cast_shadow(img, x, y)
            img[y : y + 20, x : x + 12] = 230
            ground = float(img[y : y + 20, xg : xg + 12].mean())
            cast_shadow(img, xg, y)
            img[y : y + 20, xg : xg + 12] = np.uint8(0.55 * ground)
            d = det.detect(Frame(k * 100_000, img))
            if k < 20:
                continue
            assert d.usable, d.reason
            c = d.centroid_px
            bright += bool((np.hypot(c[:, 0] - (x + 6), c[:, 1] - (y + 10)) < 8).any())
            grey += bool((np.hypot(c[:, 0] - (xg + 6), c[:, 1] - (y + 10)) < 8).any())
        return bright, grey

    bright, grey = run(EgoMotionDetector())
    assert bright >= 5 and grey >= 5, (bright, grey)
    assert run(EgoMotionDetector(orphans=False))[1] == 0


def test_masks_set_at_run_time_silence_their_area_and_bad_ones_change_nothing() -> None:
    rng = np.random.default_rng(1)
    g = big_ground()
    det = EgoMotionDetector()
    for k in range(12):
        img, _ = view(g, k, rng)
        img[300:314, 100 + 6 * k : 114 + 6 * k] = 20
        d = det.detect(Frame(k * 100_000, img))
    assert len(d) >= 1  # the vehicle is seen
    with pytest.raises(VisionConfigError, match="polygon 0"):
        det.set_masks([[(0.0, 0.0), (10.0, 10.0)]])
    assert det.polygons == ()
    det.set_masks([[(0.0, 250.0), (640.0, 250.0), (640.0, 370.0), (0.0, 370.0)]])
    for k in range(12, 16):
        img, _ = view(g, k, rng)
        img[300:314, 100 + 6 * k : 114 + 6 * k] = 20
        d = det.detect(Frame(k * 100_000, img))
        assert not ((d.centroid_px[:, 1] > 250) & (d.centroid_px[:, 1] < 370)).any()


@pytest.mark.parametrize(
    "h",
    [
        [[0.99, 0.05, 5.0], [-0.05, 0.99, -3.0], [0.0, 0.0, 1.0]],  # turn and drift
        [[1.0, 0.0, -12.0], [0.0, 1.0, 7.0], [0.0, 0.0, 1.0]],  # shift
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],  # still
    ],
)
def test_entering_strips_hold_all_ground_the_old_frame_misses(h: list[list[float]]) -> None:
    hm = np.array(h)
    wh = (540, 960)
    covered = cv2.warpPerspective(
        np.full(wh, 255, np.uint8), hm, (wh[1], wh[0]), flags=cv2.INTER_NEAREST
    )
    strips = np.zeros(wh, bool)
    for y0, y1, x0, x1 in entering_strips(hm, wh):
        strips[y0:y1, x0:x1] = True
    assert not ((covered == 0) & ~strips).any()
    # and they are strips along the edges, not the frame
    assert strips.mean() < 0.15
