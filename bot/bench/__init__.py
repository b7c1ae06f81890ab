"""``concierge bench …``: benchmarks that print figures (docs/BENCHMARKS.md), and the fake Bot API server
they and the tests talk to."""
