"""Helpers of `make bench` (bench/run.py): fixtures, processes, targets, clients, report."""
