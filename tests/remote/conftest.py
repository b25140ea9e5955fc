"""Fixtures for the object-storage tests: SeaweedFS, buckets, and no ambient cloud credentials."""

from objstore_fixtures import *  # noqa: F403
