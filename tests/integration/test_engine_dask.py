"""Book engine on Dask (issue 6): partitions on a ``dask.distributed`` cluster give exactly the
numbers of ``margin_all`` (same kernel, same per-account arithmetic, whatever the partition)."""

from __future__ import annotations

import distributed  # a test dependency: missing Dask must fail the suite, not skip it
import numpy as np
import pytest

from crossmargin.engine import BookEngine
from crossmargin.simulation import synthetic_book
from support.shared_data import require_shared_data


@pytest.mark.parametrize("model", ["pm", "span"])
def test_a_local_cluster_gives_identical_results(model: str) -> None:
    book = synthetic_book(
        1500, 300, seed=3, data_dir=require_shared_data(), positions_per_account=8.0
    )
    engine = BookEngine(book.instruments, book.market, model)
    engine.load_positions(book.account_index, book.instrument_index, book.size, book.collateral_usd)
    expected = engine.margin_all()
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = engine.margin_all_dask(client, partitions=5)
    for name in ("initial_margin", "maintenance_margin", "equity", "worst_scenario_index"):
        assert np.array_equal(getattr(result, name), getattr(expected, name)), name
    threads = engine.margin_all_dask(partitions=4)
    assert np.array_equal(threads.initial_margin, expected.initial_margin)
    assert result.scenario_labels == expected.scenario_labels
