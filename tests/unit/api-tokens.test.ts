/** The file token store in a temporary folder: hashes only, atomic rewrites, revocation, reload. */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BOOTSTRAP_TOKEN_ID, FileTokenStore, FileTokenStoreError } from '../../api/tokens.ts';

async function testFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-tokens-'));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

const NOW = Date.UTC(2026, 10, 25, 1, 2, 3);

describe('FileTokenStore', () => {
  it('knows the bootstrap admin token and nothing else before any token is made', async () => {
    const store = new FileTokenStore({
      file: join(await testFolder(), 'tokens.json'),
      bootstrapAdminToken: 'boot-strap-token-0001',
    });
    await store.start();
    expect(store.verify('boot-strap-token-0001')).toEqual({
      tokenId: BOOTSTRAP_TOKEN_ID,
      name: 'bootstrap admin',
      role: 'admin',
    });
    expect(store.verify('boot-strap-token-0002')).toBeUndefined();
    expect(store.verify('')).toBeUndefined();
    expect(store.list()).toEqual([]);
  });

  it('keeps only hashes, in a file of mode 600, and finds the tokens again after a restart', async () => {
    const folder = await testFolder();
    const file = join(folder, 'data', 'tokens.json');
    const store = new FileTokenStore({ file, now: () => NOW });
    await store.start();
    const viewer = await store.create({
      name: '财务处 大屏',
      role: 'viewer',
      department: 'finance',
      createdBy: 'bootstrap',
    });
    const admin = await store.create({ name: 'ops', role: 'admin', createdBy: 'bootstrap' });

    expect(viewer.token).toMatch(/^sfp_[A-Za-z0-9_-]{43}$/);
    expect(viewer.info).toEqual({
      id: expect.stringMatching(/^tok_[0-9a-f]{12}$/),
      name: '财务处 大屏',
      role: 'viewer',
      department: 'finance',
      createdAt: '2026-11-25T01:02:03.000Z',
      createdBy: 'bootstrap',
    });
    expect(store.verify(viewer.token)).toEqual({
      tokenId: viewer.info.id,
      name: '财务处 大屏',
      role: 'viewer',
      department: 'finance',
    });

    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(viewer.token);
    expect(text).not.toContain(admin.token);
    expect(text).toMatch(/"hash": "sha256:[0-9a-f]{64}"/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Write-then-rename leaves no temporary file behind.
    expect(await readdir(join(folder, 'data'))).toEqual(['tokens.json']);
    expect(JSON.stringify(store.list())).not.toContain('sha256');

    const reopened = new FileTokenStore({ file });
    await reopened.start();
    expect(reopened.verify(admin.token)?.role).toBe('admin');
    expect(reopened.list().map((t) => t.name)).toEqual(['财务处 大屏', 'ops']);
  });

  it('revokes: the token is refused from then on, also after a restart', async () => {
    const file = join(await testFolder(), 'tokens.json');
    const store = new FileTokenStore({ file });
    await store.start();
    const { token, info } = await store.create({ name: 'x', role: 'operator', createdBy: 'bootstrap' });
    expect(await store.revoke(info.id)).toBe(true);
    expect(await store.revoke(info.id)).toBe(false);
    expect(store.verify(token)).toBeUndefined();
    const reopened = new FileTokenStore({ file });
    await reopened.start();
    expect(reopened.verify(token)).toBeUndefined();
    expect(reopened.list()).toEqual([]);
  });

  it('loses no token when several are made at once', async () => {
    const file = join(await testFolder(), 'tokens.json');
    const store = new FileTokenStore({ file });
    await store.start();
    const made = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.create({ name: `t${i}`, role: 'viewer', createdBy: 'bootstrap' }),
      ),
    );
    const reopened = new FileTokenStore({ file });
    await reopened.start();
    for (const { token } of made) expect(reopened.verify(token)).toBeDefined();
    expect(reopened.list()).toHaveLength(10);
  });

  it('says which file is broken', async () => {
    const file = join(await testFolder(), 'tokens.json');
    await writeFile(file, '{ not json');
    await expect(new FileTokenStore({ file }).start()).rejects.toThrow(FileTokenStoreError);
    await writeFile(file, JSON.stringify({ version: 1, tokens: [{ id: 'a', name: 'b', role: 'root' }] }));
    await expect(new FileTokenStore({ file }).start()).rejects.toThrow(/tokens\.json is not a tokens file/);
  });
});
