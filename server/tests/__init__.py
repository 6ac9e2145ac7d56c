"""Tests of the collection server, over real HTTP on loopback."""
