/**
 * `facility check` through the real entry point, as an operator runs it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `node bin/facility.js …args` in the project root. */
function facility(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/facility.js', ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('facility check', () => {
  it('summarises the built-in demo facility and exits 0', async () => {
    const { code, stdout, stderr } = await facility('check');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('✓ core/facility/demo-facility.yaml: no problems');
    for (const text of [
      '示例省级机关集中办公区 / Example Provincial Government Compound (cd-compound)',
      'Asia/Shanghai, UTC+08:00',
      '夏热冬冷 hot summer, cold winter',
      '4 buildings 栋, 62,000 m² total',
      '28,000 m²',
      '9 departments 个, 1,950 people 人, 30,900 m² occupied',
      '32 meters 块: 电 electricity 26, 水 water 4, 燃气 gas 2',
      '总表 total 10, 照明插座 lighting & sockets 4, 空调 HVAC 4, 动力 power 3, 特殊 special 2, 部门 department 9',
      '24 vehicles 辆: 汽油 gasoline 16, 柴油 diesel 2, 纯电 electric 6; 160 seats 座',
      '21 rooms 间, 2,772 seats 座 total',
      '会议室 meeting 12 (602 seats), 办公区 office 8 (1,570 seats), 食堂 canteen 1 (600 seats)',
      '21 sensors 个 in 21 rooms 间',
      '2 geofences 个',
      '周一至周五 Mon–Fri 09:00-18:00 (9 h/day',
      '7 holiday periods = 33 days 天; 6 extra workdays 调休上班',
      '16 quotas 项 for 2026',
      '电 electricity 4,800,000 kWh, 水 water 45,000 m³, 燃气 gas 38,000 m³',
    ]) {
      expect(stdout).toContain(text);
    }
    expect(stdout.split('\n').length).toBeLessThan(40); // one screen
  });

  it('lists all five planted mistakes and exits 1', async () => {
    const file = 'tests/unit/fixtures/facility-five-mistakes.yaml';
    const { code, stdout } = await facility('check', file);
    expect(code).toBe(1);
    expect(stdout).toBe(
      [
        `${file}:28:43  calendar.extraWorkdays[2]: "2026-02-29" is not a date (February 2026 has 28 days)`,
        `${file}:40:124  buildings[1].floorArea: departments occupy 18,500 m² in building b2, more than its floor area of 18,000 m²`,
        `${file}:66:113  meters[4].parent: no meter "b1-e-mian" (did you mean "b1-e-main"?)`,
        `${file}:72:11  meters[10].id: duplicate meter id "b2-e-light" (first at meters[9])`,
        `${file}:177:88  tariffs.electricity.seasons[1].valley[0]: "22:00-07:00" overlaps peak period "20:00-23:00" of this season`,
        '',
        `✗ ${file}: 5 problems 发现 5 处问题`,
        '',
      ].join('\n'),
    );
  });

  it('says so when the file cannot be read, and exits 2', async () => {
    const { code, stdout, stderr } = await facility('check', 'no-such-facility.yaml');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('facility check: cannot read facility file "no-such-facility.yaml": no such file\n');
  });

  it('exits 2 on a usage error', async () => {
    const { code, stderr } = await facility('check', '--no-such-option');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--no-such-option'");
  });

  it('has help texts', async () => {
    const top = await facility('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Usage: facility');
    expect(top.stdout).toContain('check [FILE]');
    const check = await facility('check', '--help');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('Usage: facility check [options] [FILE]');
    expect(check.stdout).toContain('Exit status');
  });
});
