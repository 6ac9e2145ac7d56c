"""Collection server for Printernizer's anonymous weekly usage statistics."""
