"""The application layer: one service per area, called by the CLI, the API and the web pages."""
