"""The human-readable report: one self-contained HTML page with gates, metrics and plots."""

from synthgen.report.html import render_html

__all__ = ["render_html"]
