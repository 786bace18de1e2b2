"""Differential privacy: accounting, DP summaries of a table, and the per-fit plan."""

from synthgen.privacy.accounting import PrivacyLedger, default_delta, gdp_epsilon, gdp_mu
from synthgen.privacy.plan import DPPlan

__all__ = ["DPPlan", "PrivacyLedger", "default_delta", "gdp_epsilon", "gdp_mu"]
