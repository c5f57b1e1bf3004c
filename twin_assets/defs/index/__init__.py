"""The index: staged records classified and routed to their tier's store, and their embeddings."""
