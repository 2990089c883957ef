"""HTML views of the field app, one module per part."""
