"""The HTTP face of the service: parse, call, answer in the envelope."""
