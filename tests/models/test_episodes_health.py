"""Episodes and detector health read from a stream of scores, the way the engine raises signals."""

from __future__ import annotations

from aiops.model import Score, SeriesKey
from aiops.models.episodes import EpisodeTracker
from aiops.models.health import SeriesHealthBank

CART = SeriesKey.of("cpu", workload="cart")
SHOP = SeriesKey.of("cpu", workload="shop")


def sc(key: SeriesKey, t: float, s: float, *, warm: bool = True) -> Score:
    return Score(key=key, t=t, value=1.0, score=s, expected=0.5, lower=0.0, upper=1.0, warm=warm)


def test_an_episode_spans_the_scores_at_or_above_the_floor_and_a_gap_keeps_it_open() -> None:
    """A missing cycle does not end an episode; the first low score does, with its peak."""
    tr = EpisodeTracker(model="live", floor=0.9)
    assert tr.step([sc(CART, 0, 0.95), sc(SHOP, 0, 0.1)]) == []
    assert tr.step([sc(SHOP, 15, 0.1)]) == []  # cart has no sample: still open
    assert tr.step([sc(CART, 30, 0.99)]) == []
    [ended] = tr.step([sc(CART, 45, 0.3)])
    assert (ended.series, ended.start, ended.end, ended.peak, ended.samples) == (
        str(CART), 0, 30, 0.99, 2)
    assert tr.open == {}


def test_a_cold_score_is_never_an_episode_and_the_open_ones_are_bounded() -> None:
    """Warm-up scores start nothing; beyond max_open, new episodes are only counted."""
    tr = EpisodeTracker(model="lax", floor=0.5, max_open=1)
    tr.step([sc(CART, 0, 0.99, warm=False)])
    assert tr.open == {}
    tr.step([sc(CART, 15, 0.99), sc(SHOP, 15, 0.99)])
    assert len(tr.open) == 1 and tr.dropped == 1
    [still] = tr.close_all(closed=False)
    assert not still.closed and tr.open == {}


def test_health_counts_episodes_and_one_adoption_per_adopt_after_run() -> None:
    """Seven anomalous scores in a row with adopt_after 3 are two adoptions, one episode."""
    h = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=3)
    scores = [0.1] + [0.95] * 7 + [0.1, 0.92]
    for i, s in enumerate(scores):
        h.update([sc(CART, 3600.0 * i, s)])
    [row] = h.rows()
    assert (row.warm, row.episodes, row.adoptions) == (True, 2, 2)
    assert row.per_day == 2 / (row.seen / 86400.0)


def test_health_watches_at_most_max_series() -> None:
    """A third series beyond max_series 2 is counted as overflow, not tracked."""
    h = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=3, max_series=2)
    h.update([sc(SeriesKey.of("cpu", pod=str(i)), 0.0, 0.1) for i in range(3)])
    assert len(h) == 2 and h.overflow == 1


def test_health_from_columns_counts_what_it_counts_from_scores() -> None:
    """The daemon's columnar hook and the per-Score API give every series the same health."""
    import numpy as np

    rng = np.random.default_rng(7)
    by_scores = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=2, max_series=3)
    by_columns = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=2, max_series=3)
    keys = [SeriesKey.of("cpu", pod=str(i)) for i in range(4)]  # one beyond max_series
    for step in range(40):
        values = rng.choice([0.1, 0.95], size=len(keys), p=[0.6, 0.4])
        warm = rng.random(len(keys)) > 0.1
        scores = [sc(k, 60.0 * step, float(v), warm=bool(w))
                  for k, v, w in zip(keys, values, warm, strict=True)]
        by_scores.update(scores)
        by_columns.update_columns(keys, warm, values.astype(np.float64),
                                  np.full(len(keys), 60.0 * step))
    assert by_columns.rows() == by_scores.rows() and by_columns.overflow == by_scores.overflow
    assert any(r.episodes for r in by_columns.rows())


def test_health_from_table_rows_counts_what_it_counts_from_scores() -> None:
    """The key-table hook (rows mapped once per series) gives the per-Score API's health."""
    import numpy as np

    from aiops.sources.base import SeriesTable

    rng = np.random.default_rng(8)
    by_scores = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=2, max_series=3)
    by_table = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=2, max_series=3)
    keys = [SeriesKey.of("cpu", pod=str(i)) for i in range(4)]  # one beyond max_series
    table = SeriesTable()
    for step in range(40):
        order = rng.permutation(len(keys))
        values = rng.choice([0.1, 0.95], size=len(keys), p=[0.6, 0.4])
        warm = rng.random(len(keys)) > 0.1
        by_scores.update([sc(keys[k], 60.0 * step, float(v), warm=bool(w))
                          for k, v, w in zip(order, values, warm, strict=True)])
        by_table.update_table(table, table.rows([keys[k] for k in order]), warm,
                              values.astype(np.float64), np.full(len(keys), 60.0 * step))
    assert by_table.rows() == by_scores.rows() and by_table.overflow == by_scores.overflow
