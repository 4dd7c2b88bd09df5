"""Offline rendering: the plan model of a stack run, its tree and JSON forms, and diffs between two plans."""
