"""Configuration: raw input read once into frozen specs."""

from .parse import parse_source, uses_seed_dialect
from .specs import EndpointSpec, ResourceSpec, RetrySpec, SourceSpec

__all__ = ["EndpointSpec", "ResourceSpec", "RetrySpec", "SourceSpec", "parse_source", "uses_seed_dialect"]
