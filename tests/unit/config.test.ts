import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, settingNames } from '../../core/config.ts';

describe('runtime settings', () => {
  it('defaults to the embedded store, loopback, the usual ports and 30 days of backfill', () => {
    const config = parseConfig({}, {});
    expect(config).toMatchObject({
      data: 'data',
      host: '127.0.0.1',
      mqttPort: 1883,
      httpPort: 8080,
      simulators: true,
      backfillDays: 30,
      store: 'duckdb',
      speed: 1,
    });
  });

  it('takes environment variables, converted to their types, and lets flags win over them', () => {
    const config = parseConfig(
      { httpPort: 9000 },
      {
        FACILITY_HTTP_PORT: '7000',
        FACILITY_MQTT_PORT: '1884',
        FACILITY_SIMULATORS: 'false',
        FACILITY_STORE: 'influx',
      },
    );
    expect(config.httpPort).toBe(9000);
    expect(config.mqttPort).toBe(1884);
    expect(config.simulators).toBe(false);
    expect(config.store).toBe('influx');
  });

  it('names the flag and the variable of every bad setting at once', () => {
    let error: unknown;
    try {
      parseConfig({ backfillDays: -1 }, { FACILITY_MQTT_PORT: 'abc', FACILITY_STORE: 'postgres' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join('\n');
    expect(text).toMatch(/--mqtt-port \/ FACILITY_MQTT_PORT: .*got "abc"/);
    expect(text).toMatch(/--backfill-days \/ FACILITY_BACKFILL_DAYS: .*got -1/);
    expect(text).toMatch(/--store \/ FACILITY_STORE: .*got "postgres"/);
  });

  it('leaves the showcase unset unless given, so each command applies its own default', () => {
    expect(parseConfig({}, {}).showcase).toBeUndefined();
    expect(parseConfig({}, { FACILITY_SHOWCASE: 'false' }).showcase).toBe(false);
    expect(parseConfig({ showcase: true }, { FACILITY_SHOWCASE: 'false' }).showcase).toBe(true);
  });

  it('derives flag and variable names from the setting', () => {
    expect(settingNames('mqttWsPort')).toEqual({ flag: '--mqtt-ws-port', env: 'FACILITY_MQTT_WS_PORT' });
  });
});
