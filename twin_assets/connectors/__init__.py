"""Source connectors: one module per source, discovered through entry points."""
