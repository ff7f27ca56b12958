"""Data to look at and to measure with, outside the product's domain: the demo data set
(``bridge seed-demo``) and the national-size synthetic one (``bridge seed-synthetic``).

Both call the domain's rules and services rather than restating them; the reference data the
product itself needs (regions, municipalities, health councils) is bridge.domain.reference.
"""
