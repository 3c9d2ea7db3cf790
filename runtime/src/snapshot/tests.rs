//! Unit tests of snapshot and restore.
