"""Pure domain of Liaison: commands, events, state and rules. No I/O, no clock, no randomness."""
