"""The `liaison` command line: a client of the HTTP API for every role command; server-side commands
(running the system, migrations, the first administrator, offline checks) run where the store is."""
