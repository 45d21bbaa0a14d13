"""IP and outcomes: crude, adjusted, propensity weighting, doubly robust, mixed models."""
