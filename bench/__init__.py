"""The benchmark: `python -m bench` (see `bench/run.py`). Development tooling, run from a
checkout; the pipeline never imports it."""
