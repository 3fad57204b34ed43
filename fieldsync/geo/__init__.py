"""Locating clients: territories, placement, geocoding, check-in verification."""
