"""BackgroundDetector on synthetic scenes: finds movers where they are, ignores global
illumination steps, masks, and says when a frame cannot be judged."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.types import Frame
from edge.vision import BackgroundDetector, FrameError, VisionConfigError


def ground(h: int = 240, w: int = 320, seed: int = 7) -> np.ndarray:
    """(h, w) uint8 textured ground: smoothed noise plus a gentle gradient."""
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3)
    tex = (tex - tex.min()) / (tex.max() - tex.min())
    yy, xx = np.mgrid[0:h, 0:w]
    return np.clip(60 + 90 * tex + 0.1 * xx + 0.05 * yy, 0, 255).astype(np.uint8)


def noisy(img: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def learn(det: BackgroundDetector, bg: np.ndarray, n: int, rng: np.random.Generator) -> int:
    for i in range(n):
        det.detect(Frame(i * 100_000, noisy(bg, rng)))
    return n


def test_finds_a_mover_where_it_is() -> None:
    rng = np.random.default_rng(1)
    bg = ground()
    det = BackgroundDetector(learn_frames=20)
    k = learn(det, bg, 30, rng)
    img = bg.copy()
    img[100:116, 150:170] = 230  # a 20x16 bright vehicle
    d = det.detect(Frame(k * 100_000, noisy(img, rng)))
    assert d.usable
    assert len(d) == 1
    x, y, w, h = d.bbox_px[0]
    assert abs(x - 150) <= 3 and abs(y - 100) <= 3
    assert abs(w - 20) <= 4 and abs(h - 16) <= 4
    assert abs(d.centroid_px[0, 0] - 159.5) <= 2 and abs(d.centroid_px[0, 1] - 107.5) <= 2
    assert 0.5 < d.score[0] <= 1.0
    assert d.area_px[0] == pytest.approx(320, rel=0.3)
    assert (d.tracklet_id == -1).all()
    assert d.foot_px is None  # only when asked for


@pytest.mark.parametrize("y0", [100, 101])
def test_foot_is_under_the_body_not_under_its_shadow(y0: int) -> None:
    """A mast's view of a standing person in low sun: a dark body 4 px wide and 24 px tall
    whose shadow lies flat on the ground to its right, 30 px long and 3 px high. The box
    spans both; the foot point (the geotag anchor of an oblique view) is under the body."""
    rng = np.random.default_rng(2)
    bg = ground()
    det = BackgroundDetector(learn_frames=20, feet=True)
    k = learn(det, bg, 30, rng)
    img = bg.copy()
    img[y0 : y0 + 24, 150:154] = 20  # body: columns 150-153, rows y0 .. y0 + 23
    img[y0 + 21 : y0 + 24, 154:184] = (bg[y0 + 21 : y0 + 24, 154:184] * 0.5).astype(np.uint8)
    d = det.detect(Frame(k * 100_000, noisy(img, rng)))
    assert len(d) == 1 and d.foot_px is not None
    x, y, w, h = d.bbox_px[0]
    assert w >= 30  # the box holds the shadow too
    u, v = d.foot_px[0]
    # the body's bottom pixel row is y0 + 23 (pixel centres at integers), its middle 151.5;
    # the box's bottom centre would put the ground contact 15 px to the right
    assert abs(u - 151.5) <= 1.0, d.foot_px
    assert abs(v - (y0 + 23.5)) <= 1.0, d.foot_px
    assert abs((x + w / 2) - 151.5) > 10


@pytest.mark.parametrize("bottom", [123.6, 124.1, 124.6, 125.1, 125.4])
def test_foot_finds_the_bodys_lower_edge_within_a_pixel_row(bottom: float) -> None:
    """A far vehicle's lower edge falls anywhere within a pixel row, and a work pixel of the
    half-scale frame counts as moving once partly covered. The change of the lowest moving
    row against the row above tells how much of it the body covers: the foot lands within
    0.2 px of the edge, where a fixed three-quarters rule is off by up to 0.9 px (from a 6 m
    mast 300 m away, 0.9 px is 15 m of range)."""
    rng = np.random.default_rng(3)
    bg = ground()
    det = BackgroundDetector(learn_frames=20, feet=True)
    k = learn(det, bg, 30, rng)
    img = bg.astype(np.float64)
    full = int(np.floor(bottom + 0.5))  # rows 100 .. full - 1 covered; pixel i: i +/- 0.5
    img[100:full, 150:162] = 230
    c = bottom + 0.5 - full  # the share of row `full` the body covers, from its top
    img[full, 150:162] = (1 - c) * img[full, 150:162] + c * 230
    d = det.detect(Frame(k * 100_000, noisy(img.astype(np.uint8), rng, 1.0)))
    assert len(d) == 1 and d.foot_px is not None
    assert abs(d.foot_px[0, 0] - 155.5) <= 0.5, d.foot_px
    assert abs(d.foot_px[0, 1] - bottom) <= 0.2, (d.foot_px, bottom)


@pytest.mark.parametrize("local_light", [0.2, 0.0])
def test_a_cloud_shadow_drifting_over_the_ground_is_not_motion(local_light: float) -> None:
    """A broad, soft darkening (a cloud's shadow, a quarter darker at its core) moving over
    textured ground: no detection with the local light model, many without it; a vehicle
    driving inside the shadow is still found."""
    rng = np.random.default_rng(5)
    bg = ground(seed=3)
    h, w = bg.shape
    det = BackgroundDetector(learn_frames=20, local_light=local_light)
    k = learn(det, bg, 30, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    false_alarms = 0
    found = 0
    for i in range(24):
        cx = 60.0 + 4.0 * i  # the shadow drifts right, 4 px a frame
        depth = 0.25 * min(1.0, i / 10.0)  # a cloud thickens over a second, not in a frame
        shade = 1.0 - depth * np.exp(-(((xx - cx) / 60.0) ** 2 + ((yy - 120.0) / 50.0) ** 2))
        img = bg.astype(np.float32) * shade
        x0 = 90 + 3 * i  # and a vehicle drives through it
        img[110:122, x0 : x0 + 16] = 235
        d = det.detect(Frame((k + i) * 100_000, noisy(np.clip(img, 0, 255), rng)))
        hit = (np.abs(d.centroid_px[:, 0] - (x0 + 7.5)) < 6) & (
            np.abs(d.centroid_px[:, 1] - 115.5) < 6
        )
        found += int(hit.any())
        false_alarms += int((~hit).sum())
    if local_light > 0:
        assert found >= 22 and false_alarms == 0, (found, false_alarms)
    else:
        # the global gain alone cannot follow a local shadow
        assert found < 22 or false_alarms >= 10, (found, false_alarms)


def test_static_noisy_scene_gives_nothing() -> None:
    rng = np.random.default_rng(2)
    bg = ground()
    det = BackgroundDetector(learn_frames=20)
    k = learn(det, bg, 30, rng)
    total = sum(len(det.detect(Frame((k + i) * 100_000, noisy(bg, rng)))) for i in range(20))
    assert total == 0


def test_global_brightening_is_not_motion() -> None:
    """Cloud clearing / auto-exposure: the whole frame 15 % brighter in one step."""
    rng = np.random.default_rng(3)
    bg = ground()
    det = BackgroundDetector(learn_frames=20)
    k = learn(det, bg, 30, rng)
    bright = np.clip(bg.astype(np.float32) * 1.15, 0, 255).astype(np.uint8)
    for i in range(5):
        d = det.detect(Frame((k + i) * 100_000, noisy(bright, rng)))
        assert len(d) == 0, f"frame {i} after the step: {d.bbox_px}"
    # Without the gain compensation the same step is well over the threshold.
    assert float(np.mean(cv2.absdiff(bright, bg))) > det.threshold * 0.6


def test_light_switch_makes_frame_unusable_then_recovers() -> None:
    rng = np.random.default_rng(4)
    bg = ground()
    det = BackgroundDetector(learn_frames=20)
    k = learn(det, bg, 30, rng)
    ir = 255 - bg  # IR cut-over: a different image altogether
    d = det.detect(Frame(k * 100_000, ir))
    assert not d.usable and len(d) == 0 and "global change" in d.reason
    for i in range(1, 15):
        d = det.detect(Frame((k + i) * 100_000, noisy(ir, rng)))
    assert d.usable and len(d) == 0


def test_mask_hides_motion_inside_polygon() -> None:
    rng = np.random.default_rng(5)
    bg = ground()
    det = BackgroundDetector(
        learn_frames=20, masks=[[(140, 90), (180, 90), (180, 130), (140, 130)]]
    )
    k = learn(det, bg, 30, rng)
    img = bg.copy()
    img[100:116, 150:170] = 230  # inside the mask
    img[20:36, 20:40] = 230  # outside
    d = det.detect(Frame(k * 100_000, noisy(img, rng)))
    assert len(d) == 1
    assert d.bbox_px[0, 0] < 50


def test_sensitivity_changes_what_counts() -> None:
    rng = np.random.default_rng(6)
    bg = ground()
    det = BackgroundDetector(learn_frames=20)
    k = learn(det, bg, 30, rng)
    img = bg.copy()
    img[100:116, 150:170] = np.clip(bg[100:116, 150:170].astype(int) + 18, 0, 255)
    det.configure(0.0)  # threshold 35: a faint +18 change is ignored
    assert len(det.detect(Frame(k * 100_000, noisy(img, rng, 0.5)))) == 0
    det.configure(1.0)  # threshold 5
    assert len(det.detect(Frame((k + 1) * 100_000, noisy(img, rng, 0.5)))) >= 1


def test_bad_frames_raise_typed_errors() -> None:
    det = BackgroundDetector()
    with pytest.raises(FrameError, match="colour"):
        det.detect(Frame(0, np.zeros((240, 320, 3), np.uint8)))
    with pytest.raises(FrameError, match="empty"):
        det.detect(Frame(0, np.zeros((0, 320), np.uint8)))
    with pytest.raises(FrameError, match="uint8"):
        det.detect(Frame(0, np.zeros((240, 320), np.float32)))
    with pytest.raises(FrameError):
        det.detect(Frame(0, np.zeros((4, 240, 320), np.uint8)))


def test_unjudgeable_frames_are_unusable_not_motion() -> None:
    rng = np.random.default_rng(8)
    det = BackgroundDetector(learn_frames=20)
    k = learn(det, ground(), 25, rng)
    blank = det.detect(Frame(k, np.full((240, 320), 255, np.uint8)))
    assert not blank.usable and "blank" in blank.reason
    tiny = det.detect(Frame(k + 1, np.zeros((8, 8), np.uint8)))
    assert not tiny.usable and "too small" in tiny.reason
    # Odd-sized frame of a new size: the model restarts instead of comparing mismatched sizes.
    odd = det.detect(Frame(k + 2, noisy(ground(121, 161), rng)))
    assert not odd.usable and "size changed" in odd.reason
    d = det.detect(Frame(k + 3, noisy(ground(121, 161), rng)))
    assert d.usable


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sensitivity": 1.5}, "sensitivity"),
        ({"work_scale": 0.0}, "work_scale"),
        ({"alpha": -0.1}, "alpha"),
        ({"learn_frames": 0}, "learn_frames"),
        ({"masks": [[(0, 0), (1, 1)]]}, "mask polygon 0"),
        ({"masks": [[(0, 0), (1, float("nan")), (2, 0)]]}, "non-finite"),
        ({"local_light": 1.5}, "local_light"),
    ],
)
def test_construction_validates_loudly(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(VisionConfigError, match=name):
        BackgroundDetector(**kwargs)  # type: ignore[arg-type]


def test_configure_rejects_out_of_range() -> None:
    det = BackgroundDetector()
    with pytest.raises(VisionConfigError, match="sensitivity"):
        det.configure(-0.1)
