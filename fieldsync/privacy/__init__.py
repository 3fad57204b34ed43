"""GDPR: erasure of a person's data, the personal-data export, the consent history."""
