/** The alerts api: the list, acknowledging and commenting (operators and admins). */
import { request } from './client.ts';
import type { Alert, AlertState, Severity } from './types.ts';

export interface AlertFilter {
  readonly state?: AlertState | 'open';
  readonly severity?: Severity;
  readonly from?: string;
  readonly to?: string;
}

export async function listAlerts(filter: AlertFilter = {}): Promise<Alert[]> {
  const answer = await request<{ alerts: Alert[] }>('GET', '/api/v1/alerts', { query: { ...filter } });
  return answer.alerts;
}

export function acknowledgeAlert(id: string, comment?: string): Promise<Alert | undefined> {
  return request<Alert | undefined>('POST', `/api/v1/alerts/${encodeURIComponent(id)}/ack`, {
    body: comment === undefined || comment === '' ? {} : { comment },
  });
}

export function commentAlert(id: string, text: string): Promise<Alert | undefined> {
  return request<Alert | undefined>('POST', `/api/v1/alerts/${encodeURIComponent(id)}/comment`, {
    body: { text },
  });
}

/** Newest first; firing before acknowledged before resolved. */
export function sortAlerts(alerts: readonly Alert[]): Alert[] {
  const order: Record<AlertState, number> = { firing: 0, acknowledged: 1, resolved: 2 };
  const severity: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  return [...alerts].sort(
    (a, b) =>
      order[a.state] - order[b.state] ||
      severity[a.severity] - severity[b.severity] ||
      Date.parse(b.firedAt) - Date.parse(a.firedAt),
  );
}
