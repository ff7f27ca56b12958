"""Documents Bridge prints: HTML/CSS templates rendered to PDF with WeasyPrint.

An adapter beside the domain: the domain gathers the data (``MinutesDocument``), this package
turns it into a file, so the domain never imports a rendering library.
"""
