"""The `liaison` command line: a thin client of Temporal (commands) and the store (reads)."""
