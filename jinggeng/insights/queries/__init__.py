"""Analytics runners, one module per metric: a frozen params dataclass in, typed rows out, the
actor's data scope applied. Nothing in the product imports insights; insights reads the other
apps through their selectors and models."""
