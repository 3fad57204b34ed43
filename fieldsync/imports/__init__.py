"""Client files in and out (Excel/CSV import and export)."""
