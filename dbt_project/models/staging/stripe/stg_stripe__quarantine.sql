-- Records the stripe loader quarantined as malformed (loaders/common.py quarantine_row), with their reason.
{{ staging_quarantine('stripe') }}
