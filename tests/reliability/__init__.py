"""Reliability tests: real processes killed with ``kill -9`` on the real clock."""
