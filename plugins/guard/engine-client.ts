import { Agent, request } from 'node:http';
import type { EngineImage } from './decide.js';
import { ConfigError } from '../../src/errors.js';

/**
 * The few engine calls the guard makes, over a keep-alive unix-socket (or tcp) connection with node:http — no
 * dockerode, so the guard starts fast and each lookup is ~1 ms. The guard's own calls pass through the authz
 * plug-in chain too; they are GETs, which the guard allows at once, so there is no deadlock.
 */
export interface EngineEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseDockerHost(dockerHost: string): EngineEndpoint {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  if (dockerHost.startsWith('/')) return { socketPath: dockerHost };
  const m = /^(?:tcp|http):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
  if (m) return { host: m[1], port: m[2] ? Number(m[2]) : 2375 };
  throw new ConfigError('INVALID_DOCKER_HOST', `unsupported docker host "${dockerHost}" for the guard`, {
    hint: 'the guard talks to the engine it guards: unix:///var/run/docker.sock (default) or tcp://127.0.0.1:PORT (--docker-host or "dockerHost" in guard/config.json)',
  });
}

export class EngineClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(private readonly endpoint: EngineEndpoint, private readonly apiPrefix = '') {}

  static fromDockerHost(dockerHost: string): EngineClient {
    return new EngineClient(parseDockerHost(dockerHost));
  }

  close(): void {
    this.agent.destroy();
  }

  /** GET <path> -> {status, json}; rejects on transport errors, abort, or non-JSON bodies. */
  getJson(path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    return this.call('GET', path, signal);
  }

  /** Removes a container (force: also a running one); a container already gone is fine. */
  async removeContainer(id: string, signal?: AbortSignal): Promise<void> {
    const { status, body } = await this.call('DELETE', `/containers/${encodeURIComponent(id)}?force=1&v=1`, signal);
    if (status !== 204 && status !== 404) throw new Error(`engine: DELETE /containers/${id} -> ${status} ${msg(body)}`);
  }

  private call(method: string, path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.endpoint,
          agent: this.agent,
          method,
          path: `${this.apiPrefix}${path}`,
          headers: { Host: 'docker', 'User-Agent': 'docker-sign-guard' },
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > 16 * 1024 * 1024) {
              req.destroy(new Error('engine response too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: text.length ? JSON.parse(text) : null });
            } catch {
              reject(new Error(`engine answered ${res.statusCode} with non-JSON for ${method} ${path}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', (e) => reject(new Error(`engine unreachable: ${e.message}`)));
      req.end();
    });
  }

  async inspectImage(ref: string, signal?: AbortSignal): Promise<EngineImage | null> {
    const { status, body } = await this.getJson(`/images/${encodeURIComponent(ref)}/json`, signal);
    if (status === 404) return null;
    if (status !== 200) throw new Error(`engine: GET /images/${ref}/json -> ${status} ${msg(body)}`);
    return body as EngineImage;
  }

  async containerImage(id: string, signal?: AbortSignal): Promise<string | null> {
    const { status, body } = await this.getJson(`/containers/${encodeURIComponent(id)}/json`, signal);
    if (status === 404) return null;
    if (status !== 200) throw new Error(`engine: GET /containers/${id}/json -> ${status} ${msg(body)}`);
    const image = (body as { Image?: unknown }).Image;
    if (typeof image !== 'string') throw new Error(`engine: container ${id} has no image`);
    return image;
  }

  async ping(signal?: AbortSignal): Promise<boolean> {
    try {
      const r = await this.getJson('/version', signal);
      return r.status === 200;
    } catch {
      return false;
    }
  }
}

function msg(body: unknown): string {
  return body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : '';
}
