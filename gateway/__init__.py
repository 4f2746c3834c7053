"""Client side of Liaison shared by the CLI and the API: commands to Temporal, reads from the store."""
