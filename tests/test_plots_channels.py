"""The two pictures of one pruned layer: ``report.importance_bars`` and ``report.struck_weight``."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from helpers import report  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _horizontal(ax):
    return sorted(line.get_ydata()[0] for line in ax.lines if line.get_ydata()[0] == line.get_ydata()[1])


def _vertical(ax):
    return sorted(line.get_xdata()[0] for line in ax.lines if line.get_xdata()[0] == line.get_xdata()[1])


def test_bars_colour_removed_channels_and_draw_the_threshold_between(ax):
    scores = torch.tensor([1.0, 0.2, 0.9, 0.4, 1.1])
    threshold = report.importance_bars(ax, scores, removed=torch.tensor([3, 1]))
    colors = [patch.get_facecolor() for patch in ax.patches]
    kept, removed = to_rgba(report.KEPT_COLOR), to_rgba(report.REMOVED_COLOR)
    assert colors == [kept, removed, kept, removed, kept]
    assert [patch.get_height() for patch in ax.patches] == pytest.approx(scores.tolist())
    assert threshold == pytest.approx((0.4 + 0.9) / 2)
    assert _horizontal(ax) == pytest.approx([threshold])


def test_bars_refuse_a_removed_channel_scoring_above_a_kept_one(ax):
    with pytest.raises(ValueError, match="lowest-scoring"):
        report.importance_bars(ax, [1.0, 0.2, 0.9], removed=[0])


def test_bars_without_removed_channels_draw_no_threshold(ax):
    assert report.importance_bars(ax, [1.0, 0.2], removed=[]) is None
    assert not ax.lines


def test_struck_weight_strikes_each_removed_row_and_column_once(ax):
    matrix = np.arange(12.0).reshape(3, 4)
    image = report.struck_weight(ax, matrix, removed_rows=[1], removed_cols=[2, 0, 2])
    assert np.array_equal(image.get_array(), matrix)
    assert _horizontal(ax) == [1]
    assert _vertical(ax) == [0, 2]
    assert len(ax.lines) == 3
    assert all(to_rgba(line.get_color()) == to_rgba(report.REMOVED_COLOR) for line in ax.lines)
    faded = ax.images[1].get_array()[..., 3] > 0  # the overlay fades exactly the struck cells
    assert faded.tolist() == [[True, False, True, False], [True] * 4, [True, False, True, False]]


def test_struck_weight_refuses_indices_outside_the_matrix(ax):
    with pytest.raises(ValueError, match="removed columns"):
        report.struck_weight(ax, np.zeros((3, 4)), removed_rows=[0], removed_cols=[4])
    with pytest.raises(ValueError, match="2-D"):
        report.struck_weight(ax, np.zeros((3, 4, 2)), removed_rows=[], removed_cols=[])


def test_errorbars_draw_the_intervals_in_percent():
    summary = [{"acc_mean": 0.9, "acc_low": 0.85, "acc_high": 0.97}, {"acc_mean": 0.5, "acc_low": 0.5, "acc_high": 0.5}]
    fig, ax = plt.subplots()
    x = report.errorbars(ax, summary, "acc", ["a", "b"], offset=0.1)
    assert list(x) == [0.1, 1.1] and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    line, _, (bars,) = ax.containers[0]
    assert list(line.get_ydata()) == [90.0, 50.0]
    segments = bars.get_segments()  # each bar from low to high, in percent
    assert [tuple(round(v, 6) for v in s[:, 1]) for s in segments] == [(85.0, 97.0), (50.0, 50.0)]
    plt.close(fig)
