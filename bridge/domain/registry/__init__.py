"""Organisations, staff, API tokens and bridge nurses."""
