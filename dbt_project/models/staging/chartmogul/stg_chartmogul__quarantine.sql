-- Records the chartmogul loader quarantined as malformed (loaders/common.py quarantine_row), with their reason.
{{ staging_quarantine('chartmogul') }}
