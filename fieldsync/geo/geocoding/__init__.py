"""Geocoding: the embedded GeoNames gazetteer (offline, the default), geopy providers for
production, the cache and the pipeline that puts accounts on the map.

Modules: ``text`` (normalising), ``gazetteer`` / ``matching`` / ``offline`` (the embedded
geocoder), ``providers`` / ``quality`` / ``spacing`` (network services), ``service`` (cache and
provider), ``pipeline`` (accounts), ``api`` and ``cli`` (the edges).
"""
