"""Statistics for managers: visit coverage per rep or territory."""
