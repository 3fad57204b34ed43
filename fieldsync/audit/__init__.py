"""The audit log: who exported or erased what, and when."""
