"""Network meetings, their minutes, and who receives the minutes."""
