"""Segments: saved account filters, evaluated within the caller's scope."""
