#!/bin/bash
# Run once by the influxdb:2.x image after its setup (DOCKER_INFLUXDB_INIT_MODE=setup), with the
# influx CLI configured for the new org and its admin token (docker-entrypoint-initdb.d).
#
# InfluxQL, which the platform's store and Grafana's InfluxDB data source speak, names data by
# database and retention policy; InfluxDB 2.x keeps it in buckets. This maps them:
#   facility/autogen (default) → the raw bucket (DOCKER_INFLUXDB_INIT_BUCKET, retention
#                                DOCKER_INFLUXDB_INIT_RETENTION);
#   facility/hourly            → the bucket "<bucket>_hourly" (INFLUXDB_HOURLY_RETENTION, 0 = kept
#                                for ever), filled by the task below with hourly meter figures.
set -euo pipefail

bucket="${DOCKER_INFLUXDB_INIT_BUCKET}"
org="${DOCKER_INFLUXDB_INIT_ORG}"
hourly="${bucket}_hourly"

influx v1 dbrp create --org "${org}" --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${bucket}" --rp autogen --default

influx bucket create --org "${org}" --name "${hourly}" --retention "${INFLUXDB_HOURLY_RETENTION:-0}"
hourly_id="$(influx bucket list --org "${org}" --name "${hourly}" --hide-headers | cut -f 1)"
influx v1 dbrp create --org "${org}" --bucket-id "${hourly_id}" --db "${bucket}" --rp hourly

# Downsampling: every hour, the last reading of each meter's register (total) and its mean and
# peak power over the hour, into the hourly bucket. Consumption per hour is the difference of
# consecutive totals, as the platform computes it from raw readings.
task_file="$(mktemp)"
cat > "${task_file}" <<FLUX
option task = {name: "facility-meter-hourly", every: 1h, offset: 5m}

raw = from(bucket: "${bucket}")
    |> range(start: -task.every)
    |> filter(fn: (r) => r._measurement == "meter")

raw
    |> filter(fn: (r) => r._field == "total")
    |> aggregateWindow(every: 1h, fn: last, createEmpty: false)
    |> set(key: "_measurement", value: "meter_hourly")
    |> to(bucket: "${hourly}", org: "${org}")

raw
    |> filter(fn: (r) => r._field == "power")
    |> aggregateWindow(every: 1h, fn: mean, createEmpty: false)
    |> set(key: "_field", value: "power_mean")
    |> set(key: "_measurement", value: "meter_hourly")
    |> to(bucket: "${hourly}", org: "${org}")

raw
    |> filter(fn: (r) => r._field == "power")
    |> aggregateWindow(every: 1h, fn: max, createEmpty: false)
    |> set(key: "_field", value: "power_max")
    |> set(key: "_measurement", value: "meter_hourly")
    |> to(bucket: "${hourly}", org: "${org}")
FLUX
influx task create --org "${org}" --file "${task_file}"
rm -f "${task_file}"
