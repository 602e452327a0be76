"""An HTTP recommendation service over the recsys-core Python binding (see README.md)."""
