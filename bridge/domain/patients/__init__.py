"""Patients and what belongs to them: relatives, diagnoses, enrollments, care team, consents."""
