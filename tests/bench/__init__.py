"""Tests of the benchmark's own tools (the bench itself is not a test)."""
