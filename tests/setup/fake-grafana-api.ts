/**
 * A fake of Grafana's HTTP API: the handful of endpoints `facility grafana provision` uses, kept
 * in memory, on a free 127.0.0.1 port. It answers as Grafana 11 does — bearer tokens (401 for an
 * unknown one, 403 for a Viewer's write), data sources by uid whose secrets are never given back
 * (`secureJsonFields` only), folders, dashboards with their version counter and `meta` (folder,
 * version, who saved it last) — and records every request, so a test can tell a run that wrote
 * from one that only read.
 *
 * Endpoints: GET /api/health; GET/PUT /api/datasources/uid/:uid, POST /api/datasources;
 * GET/PUT /api/folders/:uid, POST /api/folders; GET /api/dashboards/uid/:uid, POST /api/dashboards/db.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

type Json = Record<string, unknown>;

export interface FakeGrafanaOptions {
  /** What /api/health says; default 11.6.5. */
  readonly version?: string;
  /** Token of a service account with the Admin role. */
  readonly adminToken: string;
  /** Token of a Viewer: reads pass, writes get 403. */
  readonly viewerToken?: string;
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
}

interface StoredDashboard {
  dashboard: Json;
  folderUid: string;
  version: number;
  updatedBy: string;
  updated: string;
}

export class FakeGrafanaApi {
  readonly requests: SeenRequest[] = [];
  readonly dataSources = new Map<string, Json & { secureJsonData?: Record<string, string> }>();
  readonly folders = new Map<string, { uid: string; title: string; version: number }>();
  readonly dashboards = new Map<string, StoredDashboard>();
  version: string;
  readonly #options: FakeGrafanaOptions;
  #server: Server | undefined;
  #nextId = 1;

  constructor(options: FakeGrafanaOptions) {
    this.#options = options;
    this.version = options.version ?? '11.6.5';
  }

  get url(): string {
    const address = this.#server?.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      void this.#handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: String(error) }));
      });
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Requests that changed something. */
  writes(): SeenRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  /** Someone edits a dashboard in Grafana's editor and saves it: a new version, by them. */
  editDashboard(uid: string, edit: (dashboard: Json) => void, user = 'operator'): void {
    const stored = this.dashboards.get(uid);
    if (!stored) throw new Error(`no dashboard ${uid}`);
    edit(stored.dashboard);
    stored.version++;
    stored.dashboard.version = stored.version;
    stored.updatedBy = user;
    stored.updated = new Date().toISOString();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    this.requests.push({ method, path });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json) : {};
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };

    if (method === 'GET' && path === '/api/health') {
      return send(200, { commit: 'fake', database: 'ok', version: this.version });
    }
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (token !== this.#options.adminToken && token !== this.#options.viewerToken) {
      return send(401, { message: 'Invalid API key', messageId: 'auth.unauthorized', statusCode: 401 });
    }
    if (method !== 'GET' && token !== this.#options.adminToken) {
      return send(403, {
        message: 'You’ll need additional permissions to perform this action.',
        accessErrorId: 'ACE',
      });
    }

    // ---------------------------------------------------------------- data sources
    const dataSourceUid = /^\/api\/datasources\/uid\/([^/]+)$/.exec(path)?.[1];
    if (dataSourceUid !== undefined) {
      const uid = decodeURIComponent(dataSourceUid);
      const existing = this.dataSources.get(uid);
      if (!existing) return send(404, { message: 'Data source not found' });
      if (method === 'GET') return send(200, this.#publicDataSource(existing));
      if (method === 'PUT') {
        const updated = this.#storeDataSource({ ...body, uid }, existing);
        return send(200, {
          datasource: this.#publicDataSource(updated),
          id: updated.id,
          message: 'Datasource updated',
        });
      }
    }
    if (path === '/api/datasources' && method === 'POST') {
      const uid = String(body.uid ?? '');
      if (this.dataSources.has(uid) || [...this.dataSources.values()].some((d) => d.name === body.name)) {
        return send(409, { message: 'data source with the same name already exists' });
      }
      const created = this.#storeDataSource(body, undefined);
      return send(200, {
        datasource: this.#publicDataSource(created),
        id: created.id,
        message: 'Datasource added',
      });
    }
    // ---------------------------------------------------------------- folders
    const folderUid = /^\/api\/folders\/([^/]+)$/.exec(path)?.[1];
    if (folderUid !== undefined) {
      const uid = decodeURIComponent(folderUid);
      const folder = this.folders.get(uid);
      if (!folder) return send(404, { message: 'folder not found' });
      if (method === 'GET') return send(200, { ...folder, id: 1, url: `/dashboards/f/${uid}` });
      if (method === 'PUT') {
        if (body.overwrite !== true && body.version !== folder.version)
          return send(412, { message: 'the folder has been changed by someone else' });
        folder.title = String(body.title);
        folder.version++;
        return send(200, folder);
      }
    }
    if (path === '/api/folders' && method === 'POST') {
      const uid = String(body.uid ?? '');
      if (this.folders.has(uid)) return send(409, { message: 'a folder with the same uid already exists' });
      const folder = { uid, title: String(body.title), version: 1 };
      this.folders.set(uid, folder);
      return send(200, folder);
    }
    // ---------------------------------------------------------------- dashboards
    const dashboardUid = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(path)?.[1];
    if (dashboardUid !== undefined && method === 'GET') {
      const stored = this.dashboards.get(decodeURIComponent(dashboardUid));
      if (!stored) return send(404, { message: 'Dashboard not found' });
      return send(200, {
        dashboard: stored.dashboard,
        meta: {
          type: 'db',
          folderUid: stored.folderUid,
          version: stored.version,
          updatedBy: stored.updatedBy,
          updated: stored.updated,
          provisioned: false,
        },
      });
    }
    if (path === '/api/dashboards/db' && method === 'POST') {
      const dashboard = structuredClone(body.dashboard as Json);
      const uid = String(dashboard.uid ?? '');
      const folderUid = String(body.folderUid ?? '');
      if (folderUid !== '' && !this.folders.has(folderUid)) return send(400, { message: 'folder not found' });
      const clash = [...this.dashboards.entries()].find(
        ([other, d]) => other !== uid && d.folderUid === folderUid && d.dashboard.title === dashboard.title,
      );
      if (clash)
        return send(412, {
          message: 'A dashboard with the same name in the folder already exists',
          status: 'name-exists',
        });
      const existing = this.dashboards.get(uid);
      if (existing && body.overwrite !== true && dashboard.version !== existing.version) {
        return send(412, {
          message: 'The dashboard has been changed by someone else',
          status: 'version-mismatch',
        });
      }
      const version = (existing?.version ?? 0) + 1;
      const id = (existing?.dashboard.id as number | undefined) ?? this.#nextId++;
      this.dashboards.set(uid, {
        dashboard: { ...dashboard, id, uid, version },
        folderUid,
        version,
        updatedBy: 'sa-facility',
        updated: new Date().toISOString(),
      });
      return send(200, { id, uid, status: 'success', version, url: `/d/${uid}` });
    }
    return send(404, { message: 'Not found' });
  }

  #storeDataSource(
    body: Json,
    existing: Json | undefined,
  ): Json & { secureJsonData?: Record<string, string> } {
    const secure = {
      ...((existing?.secureJsonData as Record<string, string> | undefined) ?? {}),
      ...((body.secureJsonData as Record<string, string> | undefined) ?? {}),
    };
    const stored = { ...body, id: existing?.id ?? this.#nextId++, secureJsonData: secure };
    this.dataSources.set(String(body.uid), stored);
    return stored;
  }

  /** A data source as Grafana shows it: secrets replaced by `secureJsonFields`. */
  #publicDataSource(stored: Json & { secureJsonData?: Record<string, string> }): Json {
    const { secureJsonData, ...rest } = stored;
    return {
      ...rest,
      secureJsonFields: Object.fromEntries(Object.keys(secureJsonData ?? {}).map((key) => [key, true])),
    };
  }
}
