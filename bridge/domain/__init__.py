"""The domain of Bridge: models and rules, free of any web framework."""
