"""Gap detection: rules that find what has fallen between sectors, and the flags they keep."""
