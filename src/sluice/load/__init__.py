"""Loading: the only part of sluice that talks to dlt."""
