"""Admissions, discharges, statutory plans and follow-up after discharge."""
