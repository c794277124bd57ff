// Builders for crafted `docker save` archives (legacy and OCI layouts) used by the generate/save unit tests.
import { createHash, randomBytes } from 'node:crypto';
import * as tar from 'tar-stream';

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface TarEntry { name: string; data?: Buffer; type?: 'file' | 'symlink' | 'link' | 'directory' | 'fifo'; linkname?: string }

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c: unknown) => { parts.push(c as Buffer); });
  const done = new Promise<void>((res, rej) => { pack.on('end', res); pack.on('error', rej); });
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, size: e.data!.length, mtime: new Date(0) }, e.data!);
    else pack.entry({ name: e.name, type, linkname: e.linkname, mtime: new Date(0) });
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/** A layer tar holding the given files. */
export async function layerTar(files: Record<string, Buffer | string>): Promise<Buffer> {
  return makeTar(Object.entries(files).map(([name, d]) => ({ name, data: Buffer.isBuffer(d) ? d : Buffer.from(d) })));
}

/** Semi-compressible data: text with pseudo-random words mixed with random bytes. */
export function semiRandom(n: number, seed = 1): Buffer {
  const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor'.split(' ');
  const b = Buffer.allocUnsafe(n);
  let o = 0;
  let s = seed;
  while (o < n) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    if (s % 11 === 0) { const r = randomBytes(Math.min(64, n - o)); r.copy(b, o); o += r.length; continue; }
    o += b.write(words[s % words.length] + ' ', o);
  }
  return b;
}

export interface ImageParts { config: Buffer; layers: Buffer[]; id: string; diffIds: string[] }

export function imageConfig(layers: Buffer[], extra: Record<string, unknown> = {}, diffIds?: string[]): ImageParts {
  const ids = diffIds ?? layers.map((l) => sha(l));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: ids }, ...extra }));
  return { config, layers, id: sha(config), diffIds: layers.map((l) => sha(l)) };
}

/** Legacy (dockerd <= 24) save layout, entries in lexical order like docker writes them. */
export async function legacySave(img: ImageParts, opts: { extra?: TarEntry[]; tags?: string[] } = {}): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const layerPaths: string[] = [];
  img.layers.forEach((l, i) => {
    const v1 = createHash('sha256').update(`v1-${i}-${sha(l)}`).digest('hex');
    entries.push({ name: `${v1}/`, type: 'directory' });
    entries.push({ name: `${v1}/VERSION`, data: Buffer.from('1.0') });
    entries.push({ name: `${v1}/json`, data: Buffer.from(JSON.stringify({ id: v1 })) });
    entries.push({ name: `${v1}/layer.tar`, data: l });
    layerPaths.push(`${v1}/layer.tar`);
  });
  const cfgName = `${img.id.slice(7)}.json`;
  entries.push({ name: cfgName, data: img.config });
  entries.push({ name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: opts.tags ?? ['x:1'], Layers: layerPaths }])) });
  entries.push({ name: 'repositories', data: Buffer.from('{}') });
  entries.push(...(opts.extra ?? []));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return makeTar(entries);
}

/** OCI-layout save (dockerd >= 25 style): blobs/sha256/*, index.json, oci-layout, optional manifest.json + legacy symlinks. */
export async function ociSave(img: ImageParts, opts: { compressed?: Buffer[]; withCompat?: boolean; symlinks?: boolean } = {}): Promise<Buffer> {
  return (await ociSaveParts(img, opts)).tar;
}

/** ociSave, with the digest of the image manifest it holds (what the containerd image store calls the image ID). */
export async function ociSaveParts(img: ImageParts, opts: { compressed?: Buffer[]; withCompat?: boolean; symlinks?: boolean } = {}): Promise<{ tar: Buffer; manifestDigest: string }> {
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer) => { blobs.set(sha(b), b); return sha(b); };
  const layerBlobs = opts.compressed ?? img.layers;
  const mediaType = opts.compressed ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar';
  const layerDescs = layerBlobs.map((b) => ({ mediaType, digest: put(b), size: b.length }));
  const cfgDigest = put(img.config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgDigest, size: img.config.length }, layers: layerDescs }));
  const mDigest = put(manifest);
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: mDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': '1' } }] }));
  const entries: TarEntry[] = [{ name: 'blobs/', type: 'directory' }, { name: 'blobs/sha256/', type: 'directory' }];
  for (const [d, b] of blobs) entries.push({ name: `blobs/sha256/${d.slice(7)}`, data: b });
  entries.push({ name: 'index.json', data: index }, { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') });
  if (opts.withCompat) {
    const layers = layerDescs.map((d, i) => {
      if (!opts.symlinks) return `blobs/sha256/${d.digest.slice(7)}`;
      const v1 = `${'ab'.repeat(31)}${String(i).padStart(2, '0')}`;
      entries.push({ name: `${v1}/layer.tar`, type: 'symlink', linkname: `../blobs/sha256/${d.digest.slice(7)}` });
      return `${v1}/layer.tar`;
    });
    entries.push({ name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: `blobs/sha256/${cfgDigest.slice(7)}`, RepoTags: ['x:1'], Layers: layers }])) });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { tar: await makeTar(entries), manifestDigest: mDigest };
}
