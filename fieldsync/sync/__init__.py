"""Offline sync: changesets in, scoped changes out, never a lost write or a skipped row."""
