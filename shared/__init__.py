"""What the API, the worker and the subscribers share."""
