"""Tests of the kontinue command line."""
