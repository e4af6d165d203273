-- dlt's record of the hubspot loads (one row per load, status 0 when complete), for freshness.
{{ staging_loads('hubspot') }}
