"""The import / export engine: readers, writers, entity specs, the registry and the runner."""
