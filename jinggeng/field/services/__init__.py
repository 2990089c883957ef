"""Writes of the field app, one module per part: routes, visits, stock, reports (and audits)."""
