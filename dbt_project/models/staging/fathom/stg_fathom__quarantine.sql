-- Records the fathom loader quarantined as malformed (loaders/common.py quarantine_row), with their reason.
{{ staging_quarantine('fathom') }}
