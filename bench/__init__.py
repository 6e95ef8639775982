"""Benchmarks: the naive re-broadcast host and the script that compares it with the real host."""
