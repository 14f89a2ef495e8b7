"""The contract between the service and its clients: Redis names, the version, the
messages, the stored state. Pure data and parsing: no I/O, nothing else of ours imported."""
