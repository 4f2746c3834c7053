"""Deterministic Temporal workflows: orchestration only; side effects live in activities/."""
