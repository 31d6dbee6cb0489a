"""Segmentation service settings (environment variables; see the README)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AliasChoices, Field

from patron_segmentation.domain.builtin_segments import BuiltinThresholds
from patron_shared.settings import ServiceSettings

_DEFAULTS = BuiltinThresholds()


def _days(name: str, default: int) -> int:
    return Field(default=default, ge=1, le=36_500, validation_alias=AliasChoices(name))


class SegmentationSettings(ServiceSettings):
    # Thresholds of the built-in segments (domain.builtin_segments says how each is used).
    vip_order_threshold: int = Field(
        default=_DEFAULTS.vip_order_threshold,
        ge=1,
        validation_alias=AliasChoices("CUSTOMERS_VIP_ORDER_THRESHOLD"),
    )
    vip_spend_threshold: Decimal = Field(
        default=_DEFAULTS.vip_spend_threshold,
        gt=0,
        validation_alias=AliasChoices("CUSTOMERS_VIP_SPEND_THRESHOLD"),
    )
    high_value_spend_threshold: Decimal = Field(
        default=_DEFAULTS.high_value_spend_threshold,
        gt=0,
        validation_alias=AliasChoices("CUSTOMERS_HIGH_VALUE_SPEND_THRESHOLD"),
    )
    loyal_min_orders: int = Field(
        default=_DEFAULTS.loyal_min_orders,
        ge=1,
        validation_alias=AliasChoices("CUSTOMERS_LOYAL_MIN_ORDERS"),
    )
    at_risk_min_orders: int = Field(
        default=_DEFAULTS.at_risk_min_orders,
        ge=1,
        validation_alias=AliasChoices("CUSTOMERS_AT_RISK_MIN_ORDERS"),
    )
    new_days: int = _days("CUSTOMERS_NEW_DAYS", _DEFAULTS.new_days)
    at_risk_days: int = _days("CUSTOMERS_AT_RISK_DAYS", _DEFAULTS.at_risk_days)
    one_time_days: int = _days("CUSTOMERS_ONE_TIME_DAYS", _DEFAULTS.one_time_days)
    active_days: int = _days("CUSTOMERS_ACTIVE_DAYS", _DEFAULTS.active_days)
    dormant_days: int = _days("CUSTOMERS_DORMANT_DAYS", _DEFAULTS.dormant_days)

    # How often segments that time alone can change are recomputed; 0 turns the sweep off.
    sweep_interval_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        validation_alias=AliasChoices("SEGMENTS_SWEEP_INTERVAL_SECONDS"),
    )

    # A fitted customer-base model is reused this long before a request fits it again.
    insights_model_max_age_hours: int = Field(
        default=24, ge=0, le=8_760, validation_alias=AliasChoices("INSIGHTS_MODEL_MAX_AGE_HOURS")
    )

    # Reports count a buyer as churned with no order in this many days.
    reports_churn_days: int = _days("REPORTS_CHURN_DAYS", 180)

    def builtin_thresholds(self) -> BuiltinThresholds:
        return BuiltinThresholds(
            vip_order_threshold=self.vip_order_threshold,
            vip_spend_threshold=self.vip_spend_threshold,
            new_days=self.new_days,
            loyal_min_orders=self.loyal_min_orders,
            at_risk_days=self.at_risk_days,
            at_risk_min_orders=self.at_risk_min_orders,
            high_value_spend_threshold=self.high_value_spend_threshold,
            one_time_days=self.one_time_days,
            active_days=self.active_days,
            dormant_days=self.dormant_days,
        )
