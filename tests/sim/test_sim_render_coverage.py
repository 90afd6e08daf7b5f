"""The renderer's anti-aliased silhouettes cover the area their outline encloses: a
target is drawn the size the truth says, not half a pixel fatter on every side."""

from __future__ import annotations

import numpy as np
import pytest

from sim.render import _fill


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_filled_box_has_its_area_and_centroid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ratios, shifts = [], []
    for _ in range(100):
        w, h = rng.uniform(2.5, 12.0, 2)
        th = rng.uniform(0.0, np.pi)
        c = rng.uniform(18.0, 22.0, 2)
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        box = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        img = np.zeros((40, 40), np.uint8)
        _fill(img, box @ rot.T + c, 200.0)
        cover = img / 200.0
        ys, xs = np.mgrid[0:40, 0:40]
        ratios.append(cover.sum() / (w * h))
        shifts.append(
            ((cover * xs).sum() / cover.sum() - c[0], (cover * ys).sum() / cover.sum() - c[1])
        )
    # cv2.fillConvexPoly alone: 1.4 times the area on these boxes
    assert 0.93 < float(np.mean(ratios)) < 1.07
    assert np.abs(np.mean(shifts, axis=0)).max() < 0.1


def test_a_sliver_is_still_drawn() -> None:
    img = np.zeros((20, 20), np.uint8)
    _fill(img, np.array([[5.0, 5.0], [15.0, 5.0], [15.0, 5.6], [5.0, 5.6]]), 200.0)
    assert img.sum() > 0


@pytest.mark.parametrize(("top", "bottom"), [(5.0, 10.3), (5.2, 9.9), (4.7, 11.45)])
def test_horizontal_edges_cover_their_share_of_a_row(top: float, bottom: float) -> None:
    # A vehicle's ground-contact line seen from a mast is a nearly horizontal edge: the row
    # it crosses must be covered by the share of it below the top / above the bottom (pixel
    # y spans [y - 0.5, y + 0.5]), or the foot and so the range drift with the drawing.
    img = np.zeros((20, 20), np.uint8)
    _fill(img, np.array([[3.0, top], [15.0, top], [15.0, bottom], [3.0, bottom]]), 200.0)
    rows = img[:, 6:12].mean(axis=1) / 200.0
    for y in range(20):
        want = max(0.0, min(y + 0.5, bottom) - max(y - 0.5, top))
        assert rows[y] == pytest.approx(want, abs=0.1), (y, rows[y], want)
