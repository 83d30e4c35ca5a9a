/**
 * The Grafana data sources of a site, as Grafana's HTTP API takes them: InfluxDB in the InfluxQL
 * dialect from the platform's own InfluxDB settings, and optionally Prometheus.
 *
 * Grafana never gives secrets back (only `secureJsonFields: { key: true }`), so to know on the next
 * run whether the InfluxDB token or password changed, the data source keeps in its `jsonData` a
 * scrypt hash of the secret (`facilitySecretHash`, the format of core/facility/secret-hash.ts):
 * a salted, slow hash, as the facility file keeps device secrets.
 */
import { siteUid } from './common.ts';

/** The platform's InfluxDB settings, as Grafana should reach the server. */
export interface InfluxSettings {
  /** URL as Grafana reaches InfluxDB (may differ from the platform's, e.g. a container name). */
  readonly url: string;
  /** 1.x database, or the database a 2.x bucket is mapped to (DBRP). */
  readonly database: string;
  /** 2.x/3.x token: sent as `Authorization: Token …`. */
  readonly token?: string;
  /** 1.x user and password. */
  readonly username?: string;
  readonly password?: string;
}

/** A data source as POST /api/datasources takes it, and the secret that goes with it. */
export interface DataSourceSpec {
  readonly uid: string;
  readonly name: string;
  readonly type: 'influxdb' | 'prometheus';
  readonly access: 'proxy';
  readonly url: string;
  readonly basicAuth: false;
  readonly user?: string;
  readonly database?: string;
  readonly jsonData: Readonly<Record<string, unknown>>;
  /** Secrets (never read back); compared through `jsonData.facilitySecretHash`. */
  readonly secureJsonData?: Readonly<Record<string, string>>;
  /** The secret whose hash `jsonData.facilitySecretHash` must match; absent without one. */
  readonly secret?: string;
}

/** Key of the secret's hash in `jsonData`. */
export const SECRET_HASH_KEY = 'facilitySecretHash';

export function influxDataSource(site: string, settings: InfluxSettings): DataSourceSpec {
  const jsonData: Record<string, unknown> = {
    version: 'InfluxQL',
    dbName: settings.database,
    httpMode: 'POST',
    timeInterval: '1m',
  };
  if (settings.token !== undefined) {
    // InfluxQL against 2.x/3.x: the token as a custom header (Grafana's InfluxDB documentation).
    jsonData.httpHeaderName1 = 'Authorization';
    return {
      uid: siteUid(site, 'influxdb'),
      name: `智慧机关 InfluxDB (${site})`,
      type: 'influxdb',
      access: 'proxy',
      url: settings.url,
      basicAuth: false,
      database: settings.database,
      jsonData,
      secureJsonData: { httpHeaderValue1: `Token ${settings.token}` },
      secret: `Token ${settings.token}`,
    };
  }
  return {
    uid: siteUid(site, 'influxdb'),
    name: `智慧机关 InfluxDB (${site})`,
    type: 'influxdb',
    access: 'proxy',
    url: settings.url,
    basicAuth: false,
    database: settings.database,
    ...(settings.username === undefined ? {} : { user: settings.username }),
    jsonData,
    ...(settings.password === undefined
      ? {}
      : { secureJsonData: { password: settings.password }, secret: settings.password }),
  };
}

export function prometheusDataSource(site: string, url: string): DataSourceSpec {
  return {
    uid: siteUid(site, 'prometheus'),
    name: `智慧机关 Prometheus (${site})`,
    type: 'prometheus',
    access: 'proxy',
    url,
    basicAuth: false,
    jsonData: { httpMethod: 'POST', timeInterval: '15s' },
  };
}
