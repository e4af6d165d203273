-- dlt's record of the admin loads (one row per load, status 0 when complete), for freshness.
{{ staging_loads('admin') }}
