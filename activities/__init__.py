"""Every side effect of a workflow: audit appends, notifications. Each is idempotent under retry."""
