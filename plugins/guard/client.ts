import { request } from 'node:http';

/** Talks to a running guard over its socket (status / activation / invalidate). */
export function callGuard(socketPath: string, path: string, method = 'POST', timeoutMs = 2000): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, headers: { Accept: 'application/vnd.docker.plugins.v1.2+json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const t = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: t ? JSON.parse(t) : null });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: t });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface GuardProbe {
  socket: string;
  reachable: boolean;
  activation?: unknown;
  implementsAuthz: boolean;
  stats?: Record<string, unknown>;
  error?: string;
}

export async function probeGuard(socket: string): Promise<GuardProbe> {
  try {
    const a = await callGuard(socket, '/Plugin.Activate');
    const impl = Array.isArray(a.body?.Implements) && a.body.Implements.includes('authz');
    let stats: Record<string, unknown> | undefined;
    try {
      const s = await callGuard(socket, '/DockerSign.Status', 'GET');
      if (s.status === 200 && s.body && typeof s.body === 'object') stats = s.body;
    } catch {
      // not our guard, or an old one
    }
    return { socket, reachable: true, activation: a.body, implementsAuthz: impl, stats };
  } catch (e) {
    return { socket, reachable: false, implementsAuthz: false, error: (e as Error).message };
  }
}
