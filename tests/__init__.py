"""Tests of the Printernizer usage statistics integration."""
