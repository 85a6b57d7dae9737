"""The public API is what `sluice.__all__` says, sorted, and every name in it exists."""

import sluice


def test_all_is_sorted_and_complete() -> None:
    assert sluice.__all__ == sorted(sluice.__all__)
    assert all(hasattr(sluice, name) for name in sluice.__all__)
    assert {"rest_api_source", "rest_api_resources", "ConfigError", "SluiceError"} <= set(sluice.__all__)
