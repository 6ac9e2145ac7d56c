"""Simulators of the servers the integration talks to, served on loopback."""
