"""Runnable examples; each one is also run by the test suite."""
