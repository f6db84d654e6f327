"""The engine's sums of cross-products equal numpy's, listwise, on every backend, and keep their precision
far from the origin."""

from __future__ import annotations

import sqlite3

import ibis
import numpy as np
import pandas as pd
import pytest

from voxpop.analysis.engine import cross_products

COLUMNS = ["a", "b", "c"]


def reference(rows: np.ndarray, origins) -> tuple[int, np.ndarray, np.ndarray]:
    complete = rows[~np.isnan(rows).any(axis=1)] - np.asarray(origins)
    return len(complete), complete.sum(axis=0), complete.T @ complete


@pytest.fixture(scope="module")
def random_rows() -> np.ndarray:
    """1,000 correlated rows around 10⁶ with some values missing."""
    rng = np.random.default_rng(5)
    rows = rng.multivariate_normal([1e6, 1e6 + 3, 1e6 - 2], [[4, 2, 1], [2, 3, 0.5], [1, 0.5, 2]], size=1000)
    rows[rng.random(rows.shape) < 0.03] = np.nan
    return rows


def _duckdb(frame, tmp_path):
    return ibis.duckdb.connect().create_table("rows", frame)


def _sqlite(frame, tmp_path):
    path = tmp_path / "rows.db"
    with sqlite3.connect(path) as connection:
        frame.to_sql("rows", connection, index=False)
    return ibis.sqlite.connect(path).table("rows")


@pytest.mark.parametrize("backend", [_duckdb, _sqlite], ids=["duckdb", "sqlite"])
def test_equals_numpy_listwise(random_rows, backend, tmp_path):
    table = backend(pd.DataFrame(random_rows, columns=COLUMNS), tmp_path)
    origins = [1e6, 1e6, 1e6]
    moments = cross_products(table, COLUMNS, origins=origins)
    n, sums, products = reference(random_rows, origins)
    assert moments.n == n and 900 < n < 1000
    assert moments.sums == pytest.approx(sums, rel=1e-9)
    assert moments.cross_products == pytest.approx(products, rel=1e-9)
    assert np.array_equal(moments.cross_products, moments.cross_products.T)
    complete = random_rows[~np.isnan(random_rows).any(axis=1)]
    assert list(moments.means.values()) == pytest.approx(complete.mean(axis=0), rel=1e-12)


def test_the_origin_keeps_the_variance_exact_far_from_zero(random_rows):
    table = ibis.duckdb.connect().create_table("rows", pd.DataFrame(random_rows, columns=COLUMNS))
    moments = cross_products(table, COLUMNS, origins=[1e6, 1e6, 1e6])
    centred = moments.cross_products - np.outer(moments.sums, moments.sums) / moments.n
    complete = random_rows[~np.isnan(random_rows).any(axis=1)]
    assert centred == pytest.approx(np.cov(complete.T, ddof=0) * moments.n, rel=1e-9)


def test_no_complete_row_gives_n_zero():
    frame = pd.DataFrame({"a": [1.0, None], "b": [None, 2.0]})
    moments = cross_products(ibis.duckdb.connect().create_table("rows", frame), ["a", "b"], origins=[0, 0])
    assert moments.n == 0 and not moments.sums.any() and not moments.cross_products.any()


def test_every_backend_sums_the_same(answers_table, answers_frame):
    """One query per backend (DuckDB, SQLite, PostgreSQL, PySpark) over the shared synthetic answers."""
    moments = cross_products(answers_table, ["nps", "csat"], origins=[5, 3])
    n, sums, products = reference(answers_frame[["nps", "csat"]].to_numpy(dtype=float), [5, 3])
    assert moments.n == n == 4000
    assert moments.sums == pytest.approx(sums, abs=1e-9)
    assert moments.cross_products == pytest.approx(products, abs=1e-9)
