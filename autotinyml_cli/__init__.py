"""The ``autotinyml`` command: the thin wiring layer on top of targets and memsim.

Nothing imports this package; it may import every other one.
"""
