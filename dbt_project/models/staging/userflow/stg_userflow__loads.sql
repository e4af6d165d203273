-- dlt's record of the userflow loads (one row per load, status 0 when complete), for freshness.
{{ staging_loads('userflow') }}
