"""Customer-base models: BG/NBD for purchase frequency and Gamma-Gamma for order value.

Each customer is summarised as in the models' papers (Fader, Hardie & Lee 2005): `frequency`
x = repeat purchases, `recency` t_x = time from the first to the last purchase, `age` T =
time from the first purchase to the end of the observation, and `monetary` m = the average
value of the repeat purchases, all in one time unit (days or weeks).

- BG/NBD: purchases follow a Poisson process with rate ~ Gamma(r, alpha) while the customer
  is alive; after each purchase it drops out with probability p ~ Beta(a, b).
- Gamma-Gamma: a customer's order values are Gamma(p, nu) with nu ~ Gamma(q, gamma), fitted
  on customers with at least one repeat purchase.

Parameters are maximum-likelihood estimates (log-parameters, L-BFGS-B, then Nelder-Mead to
settle), so they agree with other implementations that find the same maximum, such as the
`lifetimes` package (a test holds them within 1%).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class CustomerSummary:
    frequency: float  # repeat purchases
    recency: float  # first to last purchase, in time units
    age: float  # first purchase to the end of observation, in time units
    monetary: float = 0.0  # average value of the repeat purchases


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def probability_alive(self, x: float, t_x: float, age: float) -> float:
        if x == 0:
            return 1.0
        log_ratio = (self.r + x) * (np.log(self.alpha + age) - np.log(self.alpha + t_x))
        odds = self.a / (self.b + x - 1) * np.exp(log_ratio)
        return float(1.0 / (1.0 + odds))

    def expected_purchases(self, t: float, x: float, t_x: float, age: float) -> float:
        """Expected purchases in the next `t` time units, given the customer's history."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + age + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        numerator = (
            (a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp)
        )
        if x == 0:
            return float(numerator)
        odds = a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x)
        return float(numerator / (1 + odds))


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float

    def expected_order_value(self, x: float, monetary: float) -> float:
        """The customer's expected average order value, shrunk towards the population's."""
        return (self.p * (self.v + x * monetary)) / (self.p * x + self.q - 1)


def _arrays(customers: Sequence[CustomerSummary]) -> tuple[Floats, Floats, Floats, Floats]:
    x = np.array([c.frequency for c in customers], dtype=np.float64)
    t_x = np.array([c.recency for c in customers], dtype=np.float64)
    age = np.array([c.age for c in customers], dtype=np.float64)
    m = np.array([c.monetary for c in customers], dtype=np.float64)
    return x, t_x, age, m


def bgnbd_negative_log_likelihood(
    params: Floats, x: Floats, t_x: Floats, age: Floats, weights: Floats | None = None
) -> float:
    """Mean negative log-likelihood of BG/NBD (r, alpha, a, b) over the customers (each row
    standing for `weights` customers with that summary)."""
    r, alpha, a, b = params
    a_1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a_2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a_3 = -(r + x) * np.log(alpha + age)
    a_4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(t_x + alpha)
    top = np.maximum(a_3, a_4)
    repeat = np.where(x > 0, np.exp(a_4 - top), 0.0)
    log_likelihood = a_1 + a_2 + np.log(np.exp(a_3 - top) + repeat) + top
    return float(-np.average(log_likelihood, weights=weights))


def gamma_gamma_negative_log_likelihood(params: Floats, x: Floats, m: Floats) -> float:
    """Mean negative log-likelihood of Gamma-Gamma (p, q, v) over repeat customers."""
    p, q, v = params
    log_likelihood = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )
    return float(-np.mean(log_likelihood))


def _maximise(objective: Callable[[Floats], float], start: Floats) -> Floats:
    """Parameters maximising the likelihood, searched on their logarithms (all positive)."""

    def on_logs(log_params: Floats) -> float:
        value = objective(np.exp(log_params))
        return value if np.isfinite(value) else 1e300

    first = minimize(on_logs, np.log(start), method="L-BFGS-B")
    settled = minimize(
        on_logs,
        first.x,
        method="Nelder-Mead",
        # on log-parameters: 1e-7 is a relative step far below the 1% anyone reads
        options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 5_000, "maxfev": 10_000},
    )
    best = settled.x if settled.fun <= first.fun else first.x
    return np.exp(best)


def fit_bgnbd(customers: Sequence[CustomerSummary]) -> BgNbd:
    if not customers:
        raise ValueError("no customers to fit")
    x, t_x, age, _ = _arrays(customers)
    # customers sharing a summary share a likelihood term: one row each, weighted (in weeks a
    # million customers fold into some thousands of rows)
    rows, weights = np.unique(np.stack([x, t_x, age], axis=1), axis=0, return_counts=True)
    x, t_x, age = rows[:, 0], rows[:, 1], rows[:, 2]
    counts = weights.astype(np.float64)
    r, alpha, a, b = _maximise(
        lambda params: bgnbd_negative_log_likelihood(params, x, t_x, age, counts),
        np.array([1.0, float(np.average(age, weights=counts)) or 1.0, 1.0, 1.0]),
    )
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def fit_gamma_gamma(customers: Sequence[CustomerSummary]) -> GammaGamma:
    repeat = [c for c in customers if c.frequency > 0 and c.monetary > 0]
    if not repeat:
        raise ValueError("no repeat customers with a value to fit")
    x, _, _, m = _arrays(repeat)
    p, q, v = _maximise(
        lambda params: gamma_gamma_negative_log_likelihood(params, x, m),
        np.array([1.0, 1.0, float(np.mean(m)) or 1.0]),
    )
    return GammaGamma(p=float(p), q=float(q), v=float(v))


# --------------------------------------------------------------------------- per tenant

TimeUnit = Literal["day", "week"]
UNIT_DAYS: dict[str, int] = {"day": 1, "week": 7}
PERIOD_EPOCH = date(1970, 1, 5)  # a Monday: weeks run Monday to Sunday


def summarize(
    orders: Sequence[tuple[datetime, Decimal]], as_of: date, unit: TimeUnit
) -> CustomerSummary | None:
    """A customer's summary from its counted orders (time placed, net value) up to `as_of`
    (inclusive): purchases in one period count as one, as the models' papers count them;
    None without a purchase by then."""
    step = UNIT_DAYS[unit]
    periods: dict[int, Decimal] = {}
    for placed_at, value in orders:
        day = placed_at.astimezone(UTC).date()
        if day <= as_of:
            period = (day - PERIOD_EPOCH).days // step
            periods[period] = periods.get(period, Decimal(0)) + value
    if not periods:
        return None
    first, last = min(periods), max(periods)
    now = (as_of - PERIOD_EPOCH).days // step
    repeat = [value for period, value in periods.items() if period != first]
    return CustomerSummary(
        frequency=float(len(periods) - 1),
        recency=float(last - first),
        age=float(now - first),
        monetary=float(sum(repeat, Decimal(0)) / len(repeat)) if repeat else 0.0,
    )


@dataclass(frozen=True)
class InsightModel:
    as_of: date
    time_unit: TimeUnit
    customers: int  # customers with a purchase by `as_of`
    repeat_customers: int
    bgnbd: BgNbd
    gamma_gamma: GammaGamma | None  # None while no customer has bought twice
    average_lifespan_days: float  # first to last purchase, over repeat customers

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "time_unit": self.time_unit,
            "customers": self.customers,
            "repeat_customers": self.repeat_customers,
            "bgnbd": asdict(self.bgnbd),
            "gamma_gamma": asdict(self.gamma_gamma) if self.gamma_gamma else None,
            "average_lifespan_days": self.average_lifespan_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InsightModel:
        gamma = data.get("gamma_gamma")
        return cls(
            as_of=date.fromisoformat(data["as_of"]),
            time_unit=data["time_unit"],
            customers=int(data["customers"]),
            repeat_customers=int(data["repeat_customers"]),
            bgnbd=BgNbd(**data["bgnbd"]),
            gamma_gamma=GammaGamma(**gamma) if gamma else None,
            average_lifespan_days=float(data["average_lifespan_days"]),
        )


def fit_insight_model(
    summaries: Sequence[CustomerSummary], as_of: date, unit: TimeUnit
) -> InsightModel:
    """Both models on a tenant's customers; ValueError with none to fit."""
    repeat = [s for s in summaries if s.frequency > 0]
    return InsightModel(
        as_of=as_of,
        time_unit=unit,
        customers=len(summaries),
        repeat_customers=len(repeat),
        bgnbd=fit_bgnbd(summaries),
        gamma_gamma=fit_gamma_gamma(summaries) if any(s.monetary > 0 for s in repeat) else None,
        average_lifespan_days=float(np.mean([s.recency for s in repeat])) * UNIT_DAYS[unit]
        if repeat
        else 0.0,
    )


@dataclass(frozen=True)
class CustomerInsights:
    probability_alive: float
    churn_risk: float
    expected_purchases_30d: float
    expected_purchases_90d: float
    expected_purchases_365d: float
    expected_order_value: float | None
    predicted_lifetime_value_365d: float | None
    simple_lifetime_value: float  # AOV x purchases per year x the tenant's average lifespan


def customer_insights(
    model: InsightModel, summary: CustomerSummary, average_order_value: float
) -> CustomerInsights:
    step = UNIT_DAYS[model.time_unit]
    x, t_x, age = summary.frequency, summary.recency, summary.age
    alive = model.bgnbd.probability_alive(x, t_x, age)
    expected = {
        days: model.bgnbd.expected_purchases(days / step, x, t_x, age) for days in (30, 90, 365)
    }
    order_value = (
        model.gamma_gamma.expected_order_value(x, summary.monetary)
        if model.gamma_gamma is not None and (x == 0 or summary.monetary > 0)
        else None
    )
    years_known = max(age * step / 365.0, 1 / 12)  # at least a month, for brand-new customers
    purchases_per_year = (x + 1) / years_known
    lifespan_years = max(model.average_lifespan_days / 365.0, years_known)
    return CustomerInsights(
        probability_alive=alive,
        churn_risk=1.0 - alive,
        expected_purchases_30d=expected[30],
        expected_purchases_90d=expected[90],
        expected_purchases_365d=expected[365],
        expected_order_value=order_value,
        predicted_lifetime_value_365d=None if order_value is None else expected[365] * order_value,
        simple_lifetime_value=average_order_value * purchases_per_year * lifespan_years,
    )
