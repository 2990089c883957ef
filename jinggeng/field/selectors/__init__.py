"""Reads of the field app, one module per part; every list is scoped to the actor."""
