import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrustPolicy, validateTrustPolicy, selectStatement, loadTrustPolicy } from '../../src/trust/policy.js';
import { PolicyError } from '../../src/trust/errors.js';
import { configPaths } from '../../src/config/dir.js';
import { parseDistinguishedName, isSubsetDn } from '../../src/trust/dn.js';
import { VECTORS } from './vectors.js';

const WABBIT = 'x509.subject: C=US, ST=WA, L=Seattle, O=Wabbit Networks, CN=Wabbit Networks Signer';

function stmt(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'p',
    registryScopes: ['*'],
    signatureVerification: { level: 'strict' },
    trustStores: ['ca:example'],
    trustedIdentities: [WABBIT],
    ...over,
  };
}

function doc(...statements: Record<string, unknown>[]): unknown {
  return { version: '1.0', trustPolicies: statements };
}

function rejects(v: unknown, code: string, msg: RegExp, statement?: string): PolicyError {
  try {
    validateTrustPolicy(v);
  } catch (e) {
    expect(e).to.be.instanceOf(PolicyError);
    const pe = e as PolicyError;
    expect(pe.code, pe.message).to.equal(code);
    expect(pe.message).to.match(msg);
    if (statement !== undefined) expect(pe.statement).to.equal(statement);
    return pe;
  }
  throw new Error('policy was accepted');
}

describe('trust policy (trustpolicy.json 1.0)', () => {
  it('accepts the vectors\' notation policy and picks its global statement', () => {
    const p = parseTrustPolicy(readFileSync(join(VECTORS, 'trustpolicy.json')));
    const eff = selectStatement(p, '127.0.0.1:5055/interop/jws-valid');
    expect(eff.statement.name).to.equal('wabbit-networks');
    expect(eff.level).to.equal('strict');
    expect(eff.enforcement).to.deep.equal({ integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' });
    expect(eff.trustStores).to.deep.equal([{ type: 'ca', name: 'example' }]);
    expect(eff.x509Identities[0]!.dn.get('CN')).to.equal('Wabbit Networks Signer');
  });

  it('exact repository scope beats the global statement; no match and no global → NO_APPLICABLE_POLICY', () => {
    const p = validateTrustPolicy(doc(stmt({ name: 'global' }), stmt({ name: 'app', registryScopes: ['localhost:5000/team/app'], signatureVerification: { level: 'audit' } })));
    expect(selectStatement(p, 'localhost:5000/team/app').statement.name).to.equal('app');
    expect(selectStatement(p, 'localhost:5000/team/other').statement.name).to.equal('global');
    const only = validateTrustPolicy(doc(stmt({ name: 'app', registryScopes: ['localhost:5000/team/app'] })));
    expect(() => selectStatement(only, 'localhost:5000/team/other')).to.throw(PolicyError, /no applicable trust policy/).with.property('code', 'NO_APPLICABLE_POLICY');
  });

  it('level table and overrides (integrity cannot be overridden, only revocation can be skipped, skip has no override)', () => {
    const per = selectStatement(validateTrustPolicy(doc(stmt({ signatureVerification: { level: 'permissive' } }))), 'a.io/b');
    expect(per.enforcement).to.deep.equal({ integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' });
    const aud = selectStatement(validateTrustPolicy(doc(stmt({ signatureVerification: { level: 'audit' } }))), 'a.io/b');
    expect(aud.enforcement).to.deep.equal({ integrity: 'enforce', authenticity: 'log', authenticTimestamp: 'log', expiry: 'log', revocation: 'log' });
    const cus = selectStatement(validateTrustPolicy(doc(stmt({ signatureVerification: { level: 'strict', override: { expiry: 'log', revocation: 'skip' } } }))), 'a.io/b');
    expect(cus.levelLabel).to.equal('custom');
    expect(cus.enforcement).to.include({ expiry: 'log', revocation: 'skip', authenticity: 'enforce' });
    rejects(doc(stmt({ signatureVerification: { level: 'strict', override: { integrity: 'log' } } })), 'POLICY_INVALID', /"integrity" verification can not be overridden/, 'p');
    rejects(doc(stmt({ signatureVerification: { level: 'strict', override: { expiry: 'skip' } } })), 'POLICY_INVALID', /"expiry" verification can not be skipped/, 'p');
    rejects(doc(stmt({ signatureVerification: { level: 'strict', override: { expiry: 'ignore' } } })), 'POLICY_INVALID', /verification action "ignore"/, 'p');
    rejects(doc(stmt({ signatureVerification: { level: 'strict', override: { signature: 'log' } } })), 'POLICY_INVALID', /verification type "signature"/, 'p');
    rejects(
      doc({ name: 's', registryScopes: ['a.io/b'], signatureVerification: { level: 'skip', override: { revocation: 'skip' } } }),
      'POLICY_INVALID',
      /"skip" can't be used to customize/,
      's',
    );
  });

  it('rejects unknown levels, versions and fields with the exact reason', () => {
    rejects(doc(stmt({ signatureVerification: { level: 'paranoid' } })), 'POLICY_INVALID', /invalid signature verification level "paranoid"/, 'p');
    rejects(doc(stmt({ signatureVerification: {} })), 'POLICY_INVALID', /level is empty or missing/, 'p');
    rejects({ version: '2.0', trustPolicies: [stmt()] }, 'POLICY_VERSION', /unsupported version "2.0"/);
    rejects({ trustPolicies: [stmt()] }, 'POLICY_VERSION', /missing or has empty version/);
    rejects(doc(stmt({ trustedIdentites: ['*'] })), 'POLICY_UNKNOWN_FIELD', /unknown field "trustedIdentites"/, 'p');
    rejects({ version: '1.0', trustPolicies: [stmt()], extra: 1 }, 'POLICY_UNKNOWN_FIELD', /unknown field "extra"/);
    rejects(doc(stmt({ signatureVerification: { level: 'strict', verifyTimestamp: 'never' } })), 'POLICY_INVALID', /verifyTimestamp "never"/, 'p');
    rejects({ version: '1.0', trustPolicies: [] }, 'POLICY_INVALID', /zero trust policy statements/);
    expect(() => parseTrustPolicy('{"version": "1.0",')).to.throw(PolicyError).with.property('code', 'POLICY_MALFORMED');
    rejects(doc(stmt({ trustStores: 'ca:example' })), 'POLICY_MALFORMED', /trustStores/);
  });

  it('names must be present and unique', () => {
    rejects(doc(stmt({ name: 'a', registryScopes: ['x.io/a'] }), stmt({ name: 'a', registryScopes: ['x.io/b'] })), 'POLICY_INVALID', /multiple trust policy statements use the same name "a"/, 'a');
    rejects(doc(stmt({ name: '' })), 'POLICY_INVALID', /missing a name/);
  });

  it('registry scopes: no overlap, one global statement, "*" alone, fully qualified repositories', () => {
    rejects(doc(stmt({ name: 'a' }), stmt({ name: 'b' })), 'POLICY_INVALID', /registry scope "\*" is present in multiple trust policy statements/);
    rejects(
      doc(stmt({ name: 'a', registryScopes: ['reg.io/app'] }), stmt({ name: 'b', registryScopes: ['reg.io/other', 'reg.io/app'] })),
      'POLICY_INVALID',
      /registry scope "reg.io\/app" is present in multiple trust policy statements \("a" and "b"\)/,
      'b',
    );
    rejects(doc(stmt({ registryScopes: ['*', 'reg.io/app'] })), 'POLICY_INVALID', /wildcard scope cannot be used in conjunction/);
    rejects(doc(stmt({ registryScopes: [] })), 'POLICY_INVALID', /zero registry scopes/);
    rejects(doc(stmt({ registryScopes: ['app'] })), 'POLICY_INVALID', /registry scope "app" is not valid/);
    rejects(doc(stmt({ registryScopes: ['reg.io/app:1'] })), 'POLICY_INVALID', /registry scope "reg.io\/app:1" is not valid/);
    rejects(doc(stmt({ registryScopes: ['reg.io/*'] })), 'POLICY_INVALID', /with wild card/);
    rejects(doc(stmt({ registryScopes: ['https://reg.io/app'] })), 'POLICY_INVALID', /is not valid/);
    expect(() => validateTrustPolicy(doc(stmt({ registryScopes: ['127.0.0.1:5000/a/b-c', 'localhost/x'] })))).not.to.throw();
  });

  it('trust stores: type:name with type ca | signingAuthority | tsa', () => {
    rejects(doc(stmt({ trustStores: ['x509:example'] })), 'POLICY_INVALID', /unsupported trust store type "x509"/, 'p');
    rejects(doc(stmt({ trustStores: ['example'] })), 'POLICY_INVALID', /malformed trust store value "example"/, 'p');
    rejects(doc(stmt({ trustStores: ['ca:../etc'] })), 'POLICY_INVALID', /unsupported trust store name/, 'p');
    rejects(doc(stmt({ trustStores: [] })), 'POLICY_INVALID', /missing trust stores or trusted identities/, 'p');
    expect(() => validateTrustPolicy(doc(stmt({ trustStores: ['ca:a', 'signingAuthority:b', 'tsa:c'] })))).not.to.throw();
  });

  it('skip level: no trust stores or identities; does not need them', () => {
    expect(() => validateTrustPolicy(doc({ name: 's', registryScopes: ['a.io/b'], signatureVerification: { level: 'skip' } }))).not.to.throw();
    rejects(doc(stmt({ signatureVerification: { level: 'skip' } })), 'POLICY_INVALID', /set to skip signature verification but configured with trust stores/, 'p');
    const p = validateTrustPolicy(doc({ name: 's', registryScopes: ['*'], signatureVerification: { level: 'skip' } }));
    expect(p.warnings.join()).to.match(/skips verification for every artifact/);
  });

  it('trusted identities: "*" alone, x509.subject DNs with C, ST, O, no overlap', () => {
    rejects(doc(stmt({ trustedIdentities: ['*', WABBIT] })), 'POLICY_INVALID', /wildcard identity cannot be used in conjunction/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US, O=Acme'] })), 'POLICY_INVALID', /no mandatory RDN attribute for "ST"/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=A, O=B'] })), 'POLICY_INVALID', /duplicate RDN attribute for "O"/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US+ST=WA, O=A'] })), 'POLICY_INVALID', /multi-valued RDN/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST, O=A'] })), 'POLICY_INVALID', /is not valid/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['x509.subject:'] })), 'POLICY_INVALID', /without an identity value/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['CN=foo'] })), 'POLICY_INVALID', /missing separator/, 'p');
    rejects(doc(stmt({ trustedIdentities: [''] })), 'POLICY_INVALID', /empty trusted identity/, 'p');
    rejects(
      doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=wabbit-network.io, OU=org1', 'x509.subject:  C=US, ST=WA, O=wabbit-network.io'] })),
      'POLICY_INVALID',
      /overlapping x509 trustedIdentities/,
      'p',
    );
    expect(() => validateTrustPolicy(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=A', 'x509.subject: C=US, ST=WA, O=B'] })))).not.to.throw();
  });

  it('DN parsing: RFC 4514 escapes, spaces, set semantics', () => {
    const dn = parseDistinguishedName('C=US, ST=WA, O=Acme\\, Inc., OU=\\ lead, CN=a\\+b\\5cc');
    expect(dn.get('O')).to.equal('Acme, Inc.');
    expect(dn.get('OU')).to.equal(' lead');
    expect(dn.get('CN')).to.equal('a+b\\c');
    const subj = parseDistinguishedName('CN=Wabbit Networks Signer,O=Wabbit Networks,L=Seattle,ST=WA,C=US');
    expect(isSubsetDn(parseDistinguishedName('C=US, ST=WA, O=Wabbit Networks'), subj)).to.equal(true);
    expect(isSubsetDn(parseDistinguishedName('C=US, ST=WA, O=Wabbit'), subj)).to.equal(false);
    expect(isSubsetDn(parseDistinguishedName('C=US;ST=WA;O=Wabbit Networks;CN=Other'), subj)).to.equal(false);
  });

  it('loads trustpolicy.oci.json in preference to trustpolicy.json; missing → NO_POLICY; symlink refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ds-policy-'));
    const paths = configPaths(dir);
    await loadTrustPolicy(paths).then(
      () => expect.fail('loaded a missing policy'),
      (e: PolicyError) => expect(e.code).to.equal('NO_POLICY'),
    );
    await writeFile(paths.trustPolicy, JSON.stringify(doc(stmt({ name: 'plain' }))));
    expect((await loadTrustPolicy(paths)).document.trustPolicies[0]!.name).to.equal('plain');
    await writeFile(paths.trustPolicyOci, JSON.stringify(doc(stmt({ name: 'oci' }))));
    expect((await loadTrustPolicy(paths)).document.trustPolicies[0]!.name).to.equal('oci');
    const d2 = await mkdtemp(join(tmpdir(), 'ds-policy-'));
    await mkdir(d2, { recursive: true });
    await symlink(paths.trustPolicy, join(d2, 'trustpolicy.json'));
    await loadTrustPolicy(configPaths(d2)).then(
      () => expect.fail('followed a symlink'),
      (e: PolicyError) => expect(e.code).to.equal('POLICY_UNREADABLE'),
    );
  });
});
