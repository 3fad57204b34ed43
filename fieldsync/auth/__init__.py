"""Organisations, users, devices, login sessions and who may see what."""
