"""Test support shared by every app's tests: the pytest plugin, factories and live servers."""
