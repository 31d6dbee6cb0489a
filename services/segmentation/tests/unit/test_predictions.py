"""BG/NBD and Gamma-Gamma fitted here agree with the `lifetimes` package on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from patron_segmentation.domain.predictions import (
    BgNbd,
    CustomerSummary,
    GammaGamma,
    fit_bgnbd,
    fit_gamma_gamma,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.generate_data import beta_geometric_nbd_model


def customers_of(seed: int, size: int = 3000) -> list[CustomerSummary]:
    """Customers drawn from a BG/NBD world (lifetimes' own generator), with order values."""
    np.random.seed(seed)
    data = beta_geometric_nbd_model(T=52, r=0.25, alpha=4.0, a=0.8, b=2.5, size=size)
    rng = np.random.default_rng(seed)
    values = rng.gamma(shape=6.0, scale=rng.gamma(shape=4.0, scale=1 / 15.0, size=size) ** -1)
    return [
        CustomerSummary(
            frequency=float(row.frequency),
            recency=float(row.recency),
            age=float(row.T),
            monetary=float(value) if row.frequency > 0 else 0.0,
        )
        for row, value in zip(data.itertuples(), values, strict=True)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_bgnbd_parameters_are_within_one_percent_of_lifetimes(seed: int) -> None:
    customers = customers_of(seed)

    ours = fit_bgnbd(customers)
    theirs = BetaGeoFitter().fit(
        np.array([c.frequency for c in customers]),
        np.array([c.recency for c in customers]),
        np.array([c.age for c in customers]),
    )

    for name in ("r", "alpha", "a", "b"):
        assert getattr(ours, name) == pytest.approx(theirs.params_[name], rel=0.01), name


def test_gamma_gamma_parameters_are_within_one_percent_of_lifetimes() -> None:
    customers = customers_of(3)
    repeat = [c for c in customers if c.frequency > 0]

    ours = fit_gamma_gamma(customers)
    theirs = GammaGammaFitter().fit(
        np.array([c.frequency for c in repeat]), np.array([c.monetary for c in repeat])
    )

    for name, their_name in (("p", "p"), ("q", "q"), ("v", "v")):
        assert getattr(ours, name) == pytest.approx(theirs.params_[their_name], rel=0.01), name


def test_per_customer_predictions_agree_with_lifetimes() -> None:
    model = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    theirs = BetaGeoFitter()
    theirs.params_ = pd.Series({"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b})
    for x, t_x, age in ((0, 0, 30), (2, 20, 38), (10, 35, 38), (1, 2, 39)):
        assert model.probability_alive(x, t_x, age) == pytest.approx(
            np.ravel(theirs.conditional_probability_alive(x, t_x, age))[0], rel=1e-6
        )
        assert model.expected_purchases(39, x, t_x, age) == pytest.approx(
            np.ravel(theirs.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, age))[
                0
            ],
            rel=1e-6,
        )
    value_model = GammaGamma(p=6.25, q=3.74, v=15.44)
    gg = GammaGammaFitter()
    gg.params_ = pd.Series({"p": 6.25, "q": 3.74, "v": 15.44})
    assert value_model.expected_order_value(3, 40.0) == pytest.approx(
        np.ravel(gg.conditional_expected_average_profit(3, 40.0))[0], rel=1e-9
    )
