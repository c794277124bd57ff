// Verification cost (issue 5): whole-process `docker sign verify REF` of a remote image in DS_REGISTRY vs the node
// floor (`node -e 0`), goal <= floor + 40 ms; and in-process verification latency (verifyReference: resolve +
// referrers + signature manifest + envelope + checks, warm connections) p50/p99, goal <= 10 ms p50.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRow } from './run.js';
import { root, percentile as pct, timeNode as once } from './util.js';
import { generateTestKey } from '../src/pki/generate.js';
import { closeConnections, openRepository } from '../src/registry/index.js';
import { verifyReference, loadTrustPolicy, FileTrustStore } from '../src/trust/index.js';
import { configPaths } from '../src/config/dir.js';
import { makeConfig, pushTestImage, signRemote, uniqueRepo } from '../integration/verify-helpers.js';

const N = Number(process.env.DS_BENCH_VERIFY_RUNS ?? 15);
const M = Number(process.env.DS_BENCH_VERIFY_ITER ?? 200);

export default async function verifyBench(): Promise<BenchRow[]> {
  const registry = process.env.DS_REGISTRY;
  if (!registry) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
  if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build first');
  const key = await generateTestKey({ name: 'Bench Signer', type: 'ec-p256', subject: 'C=US, ST=WA, O=Bench, CN=Bench Signer' });
  const repo = uniqueRepo('bench');
  const subject = await pushTestImage(registry, repo);
  await signRemote(registry, repo, subject, key);
  const cfg = await makeConfig(
    { version: '1.0', trustPolicies: [{ name: 'bench', registryScopes: [`${registry}/${repo}`], signatureVerification: { level: 'strict' }, trustStores: ['ca:bench'], trustedIdentities: ['x509.subject: C=US, ST=WA, O=Bench'] }] },
    { 'ca:bench': [key.rootPem] },
  );
  const ref = `${registry}/${repo}:v1`;

  // whole process, interleaved with the floor
  const argv = ['bin/docker-sign.js', 'verify', '--config-dir', cfg, ref];
  const floorS: number[] = [];
  const verifyS: number[] = [];
  const uncachedS: number[] = [];
  for (let round = 0; round < N + 2; round++) {
    const f = once(['-e', '0']);
    const v = once(argv);
    // what a first run costs: the bundle compiled from source (no V8 code cache, src/cli/codecache.ts)
    const u = once(argv, { DOCKER_SIGN_NO_CODE_CACHE: '1' });
    if (round >= 2) {
      floorS.push(f);
      verifyS.push(v);
      uncachedS.push(u);
    }
  }
  const floor = pct(floorS, 50);
  const whole = pct(verifyS, 50);
  const uncached = pct(uncachedS, 50);

  // in process: policy and trust store loaded once (as the guard does), connections warm
  const paths = configPaths(cfg);
  const policy = await loadTrustPolicy(paths);
  const trustStore = new FileTrustStore(paths.trustStore);
  const target = openRepository(ref);
  const run = async (cache: boolean) => {
    const lat: number[] = [];
    for (let i = 0; i < M + 20; i++) {
      const t0 = performance.now();
      const r = await verifyReference(ref, { configPaths: paths, policy, trustStore, target, ...(cache ? {} : { cache: null }) });
      const ms = performance.now() - t0;
      if (!r.verified) throw new Error(`bench image did not verify: ${r.reason}`);
      if (i >= 20) lat.push(ms);
    }
    return lat;
  };
  const cold = await run(false);
  const lat = await run(true);
  await closeConnections?.();
  return [
    { name: 'node -e 0 (floor)', value: floor, unit: 'ms', note: `median of ${N}, interleaved` },
    { name: 'docker sign verify REF (whole process, remote)', value: whole, unit: 'ms', goal: '<= floor + 40 ms', met: whole <= floor + 40, note: `floor + ${Math.round(whole - floor)} ms` },
    { name: 'docker sign verify REF, first run (no code cache yet)', value: uncached, unit: 'ms', note: `floor + ${Math.round(uncached - floor)} ms; later runs load the bundle's compiled code from ~/.cache/docker-sign` },
    { name: 'verifyReference in-process p50', value: pct(lat, 50), unit: 'ms', goal: '<= 10 ms', met: pct(lat, 50) <= 10, note: `${M} runs; tag + referrers live, signature content cached by digest` },
    { name: 'verifyReference in-process p99', value: pct(lat, 99), unit: 'ms' },
    { name: 'verifyReference in-process p50 (no content cache)', value: pct(cold, 50), unit: 'ms', note: '4 registry round trips + checks' },
    { name: 'verifyReference in-process p99 (no content cache)', value: pct(cold, 99), unit: 'ms' },
  ];
}
