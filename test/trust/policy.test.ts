import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrustPolicy, validateTrustPolicy, selectStatement, loadTrustPolicy } from '../../src/trust/policy.js';
import { PolicyError } from '../../src/trust/errors.js';
import { configPaths } from '../../src/config/dir.js';
import { parseDistinguishedName, isSubsetDn, goSubjectString, leafSubjectDn, DnError } from '../../src/trust/dn.js';
import { certInfo } from '../../src/trust/x509.js';
import { Verifier } from '../../src/trust/verifier.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { generateTestKey } from '../../src/pki/generate.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import { MemoryTarget } from './memory-target.js';
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

  it('a Docker Hub scope selects its statement however it is spelled (notation matches the name as typed, we normalize names)', () => {
    for (const scope of ['docker.io/alpine', 'docker.io/library/alpine', 'index.docker.io/alpine', 'index.docker.io/library/alpine']) {
      const p = validateTrustPolicy(doc(stmt({ name: 'global', signatureVerification: { level: 'skip' }, trustStores: undefined, trustedIdentities: undefined }), stmt({ name: 'hub', registryScopes: [scope] })));
      // `docker sign verify alpine`, `docker.io/alpine`, `index.docker.io/library/alpine` all name docker.io/library/alpine
      expect(selectStatement(p, 'docker.io/library/alpine').statement.name, scope).to.equal('hub');
      expect(selectStatement(p, 'docker.io/library/busybox').statement.name).to.equal('global');
    }
    // other registries are compared as written: no library/ added
    const q = validateTrustPolicy(doc(stmt({ name: 'global' }), stmt({ name: 'local', registryScopes: ['localhost:5000/app'] })));
    expect(selectStatement(q, 'localhost:5000/library/app').statement.name).to.equal('global');
  });

  it('two spellings of one Docker Hub repository in two statements make the policy invalid (which applied would depend on the name)', () => {
    rejects(doc(stmt({ name: 'a', registryScopes: ['docker.io/alpine'] }), stmt({ name: 'b', registryScopes: ['docker.io/library/alpine'] })),
      'POLICY_INVALID', /"docker\.io\/alpine" \(statement "a"\) and "docker\.io\/library\/alpine" \(statement "b"\) name the same repository docker\.io\/library\/alpine/, 'b');
    // in one statement, both spellings are just redundant
    const p = validateTrustPolicy(doc(stmt({ name: 'a', registryScopes: ['docker.io/alpine', 'index.docker.io/library/alpine'] })));
    expect(selectStatement(p, 'docker.io/library/alpine').statement.name).to.equal('a');
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
    // An unknown field is ignored as notation ignores it (a warning, see below): a misspelled trustedIdentities
    // leaves the statement without identities, which is then the error.
    rejects(doc(stmt({ trustedIdentities: undefined, trustedIdentites: ['*'] })), 'POLICY_INVALID', /missing trust stores or trusted identities/, 'p');
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

describe('trust policy JSON read as notation reads it (Go encoding/json)', () => {
  const ok = (text: string) => parseTrustPolicy(text);
  const malformed = (text: string, msg: RegExp) => {
    try {
      parseTrustPolicy(text);
    } catch (e) {
      expect(e).to.be.instanceOf(PolicyError);
      expect((e as PolicyError).code, (e as PolicyError).message).to.equal('POLICY_MALFORMED');
      expect((e as PolicyError).message).to.match(msg);
      return;
    }
    throw new Error('policy was accepted');
  };

  it('matches field names case-insensitively', () => {
    const p = ok(
      JSON.stringify({
        Version: '1.0',
        TrustPolicies: [{ NAME: 'p', RegistryScopes: ['*'], SignatureVerification: { Level: 'audit', OVERRIDE: { expiry: 'log' }, VerifyTimestamp: 'afterCertExpiry' }, trustSTORES: ['ca:s'], TrustedIdentities: [WABBIT] }],
      }),
    );
    expect(p.warnings).to.deep.equal([]);
    expect(p.document.trustPolicies[0]).to.deep.equal({
      name: 'p',
      registryScopes: ['*'],
      signatureVerification: { level: 'audit', override: { expiry: 'log' }, verifyTimestamp: 'afterCertExpiry' },
      trustStores: ['ca:s'],
      trustedIdentities: [WABBIT],
    });
    // Go's folding also maps "ſ" to s; values and override keys are not folded.
    expect(ok(JSON.stringify(doc(stmt({ signatureVerification: { level: 'strict', verifyTimeſtamp: 'afterCertExpiry' } })))).document.trustPolicies[0]!.signatureVerification.verifyTimestamp).to.equal('afterCertExpiry');
    rejects(doc(stmt({ signatureVerification: { level: 'Strict' } })), 'POLICY_INVALID', /invalid signature verification level "Strict"/, 'p');
    rejects(doc(stmt({ signatureVerification: { level: 'strict', override: { Expiry: 'log' } } })), 'POLICY_INVALID', /verification type "Expiry"/, 'p');
  });

  it('null is an absent field; an empty verifyTimestamp is the default', () => {
    const skip = ok(JSON.stringify(doc({ name: 's', registryScopes: ['a.io/b'], signatureVerification: { level: 'skip', override: null, verifyTimestamp: null }, trustStores: null, trustedIdentities: null })));
    expect(skip.document.trustPolicies[0]).to.deep.equal({ name: 's', registryScopes: ['a.io/b'], signatureVerification: { level: 'skip' } });
    const st = ok(JSON.stringify(doc(stmt({ signatureVerification: { level: 'strict', override: null, verifyTimestamp: '' } }))));
    expect(st.document.trustPolicies[0]!.signatureVerification).to.deep.equal({ level: 'strict' });
    expect(selectStatement(st, 'a.io/b').verifyTimestamp).to.equal('always');
    // null where Go keeps a zero value: the validation error notation gives for the empty value.
    rejects(JSON.parse('{"version":null,"trustPolicies":[]}'), 'POLICY_VERSION', /missing or has empty version/);
    rejects({ version: '1.0', trustPolicies: [null] }, 'POLICY_INVALID', /missing a name/);
    rejects(doc(stmt({ signatureVerification: null })), 'POLICY_INVALID', /level is empty or missing/, 'p');
    rejects(doc(stmt({ trustStores: ['ca:example', null] })), 'POLICY_INVALID', /malformed trust store value ""/, 'p');
    rejects(doc(stmt({ signatureVerification: { level: 'strict', override: { expiry: null } } })), 'POLICY_INVALID', /verification action ""/, 'p');
  });

  it('ignores unknown fields, as notation does, and reports each as a warning', () => {
    const p = ok(
      JSON.stringify({
        $schema: 'https://example.com/trustpolicy.schema.json',
        version: '1.0',
        trustPolicies: [stmt({ description: 'prod', signatureVerification: { level: 'strict', skipTimestampRevocationCheck: true } })],
      }),
    );
    expect(p.document).to.deep.equal({ version: '1.0', trustPolicies: [{ name: 'p', registryScopes: ['*'], signatureVerification: { level: 'strict' }, trustStores: ['ca:example'], trustedIdentities: [WABBIT] }] });
    expect(p.warnings).to.have.length(3);
    expect(p.warnings[0]).to.match(/^trust policy document has unknown field "\$schema", which is ignored/);
    expect(p.warnings[1]).to.match(/^trust policy statement "p" has unknown field "description", which is ignored/);
    expect(p.warnings[2]).to.match(/^signatureVerification of trust policy statement "p" has unknown field "skipTimestampRevocationCheck", which is ignored/);
    // validateTrustPolicy (policy init / import) reports them the same way.
    expect(validateTrustPolicy({ version: '1.0', trustPolicies: [stmt()], extra: 1 }).warnings.join()).to.match(/unknown field "extra"/);
  });

  it('ignores data after the JSON document, as Go\'s json.Decoder does, with a warning', () => {
    const text = JSON.stringify(doc(stmt()));
    const p = ok(`${text}\n  garbage {`);
    expect(p.document.trustPolicies[0]!.name).to.equal('p');
    expect(p.warnings).to.deep.equal(['the data after the JSON document (from line 2, column 3) is ignored, as notation ignores it; remove it']);
    expect(ok(`${text}${JSON.stringify({ version: '2.0' })}`).warnings.join()).to.match(/data after the JSON document/);
    expect(ok(` \r\n\t${text}\n\n`).warnings).to.deep.equal([]);
  });

  it('refuses a field given twice in one object (Go would overwrite or merge them)', () => {
    const sv = '"signatureVerification":{"level":"strict"}';
    const body = `"name":"p","registryScopes":["*"],"trustStores":["ca:s"],"trustedIdentities":["*"]`;
    malformed(`{"version":"1.0","trustPolicies":[{${body},"signatureVerification":{"level":"strict","Level":"skip"}}]}`, /signatureVerification of trust policy statement "p" sets the field "level" more than once \(as "level" and as "Level"\)/);
    malformed(`{"version":"1.0","trustPolicies":[{${body},${sv},${sv}}]}`, /sets the field "signatureVerification" more than once \("signatureVerification" twice\)/);
    malformed(`{"version":"1.0","trustPolicies":[{${body},"signatureVerification":{"level":"strict","override":{"expiry":"log","expiry":"enforce"}}}]}`, /sets "expiry" more than once/);
    // Repeated unknown fields are ignored like any unknown field.
    expect(ok(`{"version":"1.0","x":1,"x":2,"trustPolicies":[{${body},${sv}}]}`).warnings).to.have.length(2);
  });

  it('refuses what Go cannot decode: syntax errors (with their position), a BOM, JSON types that do not fit', () => {
    malformed('{"version": "1.0",', /unexpected end of JSON input looking for beginning of object key string at line 1, column 19/);
    malformed('{"version":"1.0","trustPolicies":[],}', /invalid character "}" looking for beginning of object key string/);
    malformed('{"version":"1.0",\n "n": 01}', /invalid character "1" after object key:value pair at line 2, column 8/);
    malformed('{"version":"1.0","n":"a\tb"}', /invalid control character/);
    malformed('{"version":"1.0","n":tru}', /invalid literal starting with "t"/);
    malformed(`\ufeff${JSON.stringify(doc(stmt()))}`, /byte order mark/);
    malformed(JSON.stringify({ version: 1, trustPolicies: [stmt()] }), /"version" of trust policy document must be a string/);
    malformed(JSON.stringify({ version: '1.0', trustPolicies: {} }), /"trustPolicies" of trust policy document must be an array of objects/);
    malformed(JSON.stringify(doc(stmt({ signatureVerification: 'strict' }))), /"signatureVerification" of trust policy statement "p" must be an object/);
    malformed(JSON.stringify(doc(stmt({ signatureVerification: { level: 'strict', override: { expiry: 1 } } }))), /"override" of signatureVerification of trust policy statement "p" must map names to strings/);
    malformed('[]', /the document must be a JSON object/);
    // Escapes decode as in Go; a lone surrogate becomes U+FFFD.
    expect(ok(JSON.stringify(doc(stmt())).replace('"strict"', '"stri\\u0063t"')).document.trustPolicies[0]!.signatureVerification.level).to.equal('strict');
    rejects(JSON.parse('{"version":"1.0","trustPolicies":[]}'), 'POLICY_INVALID', /zero trust policy statements/);
    expect(() => parseTrustPolicy(JSON.stringify(doc(stmt({ name: 'a\\ud800' }))).replace('a\\\\ud800', 'a\\ud800'))).not.to.throw();
  });
});

describe('x509.subject identities and the signer\'s subject, as notation v1.3 compares them', () => {
  it('"S" is an alias of "ST"; both together are a duplicate', () => {
    const p = validateTrustPolicy(doc(stmt({ trustedIdentities: ['x509.subject: C=US, S=WA, O=Acme'] })));
    expect([...selectStatement(p, 'a.io/b').x509Identities[0]!.dn]).to.deep.equal([
      ['C', 'US'],
      ['ST', 'WA'],
      ['O', 'Acme'],
    ]);
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, S=WA, O=Acme'] })), 'POLICY_INVALID', /duplicate RDN attribute for "ST"/, 'p');
    rejects(
      doc(stmt({ trustedIdentities: ['x509.subject: C=US, S=WA, O=Acme', 'x509.subject: C=US, ST=WA, O=Acme, CN=x'] })),
      'POLICY_INVALID',
      /overlapping x509 trustedIdentities/,
      'p',
    );
  });

  it('refuses identities containing "=#" (hex-encoded values), as notation does', () => {
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=#0c0441636d65'] })), 'POLICY_INVALID', /notation does not support x509.subject identities containing "=#"/, 'p');
    rejects(doc(stmt({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=Acme, CN=a=#b'] })), 'POLICY_INVALID', /containing "=#"/, 'p');
    // "#" after a space is not hex in go-ldap: the value is the text; an escaped "\#" is a literal "#".
    expect(parseDistinguishedName('C=US, ST=WA, O= #0c0441636d65').get('O')).to.equal('#0c0441636d65');
    expect(parseDistinguishedName('C=US, ST=WA, O=\\#1').get('O')).to.equal('#1');
  });

  it('trims white space the way go-ldap does (strings.TrimSpace) and accepts any attribute type', () => {
    const dn = parseDistinguishedName('C=US,\tST=WA\t, O=Acme\u00a0\n, L=\\09x\\09, OU=a\\ \t');
    expect([...dn]).to.deep.equal([
      ['C', 'US'],
      ['ST', 'WA'],
      ['O', 'Acme'],
      ['L', '\tx\t'],
      ['OU', 'a '],
    ]);
    expect(parseDistinguishedName('C=US, ST=WA, O=Acme, X_Y=z').get('X_Y')).to.equal('z');
    expect(parseDistinguishedName('C=US, ST=WA, O=Acme, a\\=b=c').get('a=b')).to.equal('c');
    expect(() => parseDistinguishedName('C=US, ST=WA, O=Acme, =z')).to.throw(DnError, /empty attribute type/);
    // An identity attribute with an empty value matches a subject without it (Go reads an absent key as "").
    expect(isSubsetDn(parseDistinguishedName('C=US, ST=WA, O=Acme, OU='), parseDistinguishedName('C=US, ST=WA, O=Acme'))).to.equal(true);
  });

  it('reads the signer\'s subject as Go prints it: OID=#hex attributes make it unparsable, one CN, values grouped by type', () => {
    const named = (t: string, v: string) => ({ type: t, value: v });
    const base = [[named('C', 'US')], [named('ST', 'WA')], [named('O', 'Acme')]];
    expect(goSubjectString([...base, [named('CN', 'a')], [named('1.2.840.113549.1.9.1', '#16056140622e63')]]).printed).to.equal('CN=a,O=Acme,ST=WA,C=US,1.2.840.113549.1.9.1=#16056140622e63');
    expect(() => leafSubjectDn([...base, [named('1.2.840.113549.1.9.1', '#16056140622e63')]])).to.throw(DnError, /attribute emailAddress \(1\.2\.840\.113549\.1\.9\.1\).*no x509\.subject trusted identity can match/);
    expect(() => leafSubjectDn([...base, [named('0.9.2342.19200300.100.1.25', '#1603636f6d')]])).to.throw(DnError, /attribute DC/);
    expect(() => leafSubjectDn([...base, [named('2.5.4.15', '#130150')]])).to.throw(DnError, /attribute businessCategory/);
    // Two OUs print as one multi-valued RDN, which notation refuses; of two CNs Go keeps the last.
    expect(() => leafSubjectDn([...base, [named('OU', 'a')], [named('OU', 'b')]])).to.throw(DnError, /"OU=a\+OU=b,O=Acme,ST=WA,C=US" has multi-valued RDN/);
    expect(leafSubjectDn([...base, [named('CN', 'first')], [named('CN', 'second')]]).get('CN')).to.equal('second');
    // A multi-valued RDN in the certificate is flattened by Go; a NumericString serialNumber is a string to Go.
    expect([...leafSubjectDn([[named('C', 'US'), named('ST', 'WA')], [named('O', 'Acme'), named('2.5.4.5', '#12053132333435')]])]).to.deep.equal([
      ['SERIALNUMBER', '12345'],
      ['O', 'Acme'],
      ['ST', 'WA'],
      ['C', 'US'],
    ]);
    // Values round-trip through Go's escaping; a value containing "=#" makes the printed subject unparsable.
    expect(leafSubjectDn([...base, [named('CN', ' a, "b"+c;<d>\\ #e ')]]).get('CN')).to.equal(' a, "b"+c;<d>\\ #e ');
    expect(leafSubjectDn([...base, [named('CN', '#x\t')]]).get('CN')).to.equal('#x');
    expect(() => leafSubjectDn([...base, [named('CN', 'a=#b')]])).to.throw(DnError, /containing "=#"/);
  });

  it('a signer with an emailAddress in its subject fails x509.subject identities and passes "*" (verifier)', async function () {
    this.timeout(60_000);
    const REPO = 'registry.example:5000/app';
    const key = await generateTestKey({ name: 'mail', type: 'ec-p256', subject: 'C=US, ST=WA, O=Acme, CN=signer, E=signer@acme.example' });
    expect(certInfo(key.chain[0]!).subjectRdns.flat().map((a) => a.type)).to.include('1.2.840.113549.1.9.1');
    const t = new MemoryTarget();
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: { mediaType: MediaType.OCI_EMPTY, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] }));
    const subject = t.addManifest(MediaType.OCI_MANIFEST, bytes, 'v1');
    const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer: signerFromKey(key.privateKey, key.chain) });
    const built = buildSignatureManifest(subject, env, key.chain);
    t.addBlob(built.config.bytes);
    t.addBlob(env.bytes);
    await t.pushReferrer(built.descriptor, built.manifest, subject);
    const store = new MemoryTrustStore().set('ca', 's', [key.chain[key.chain.length - 1]!]);
    const verify = (identities: string[]) =>
      new Verifier({
        policy: validateTrustPolicy(doc(stmt({ registryScopes: [REPO], signatureVerification: { level: 'strict', override: { revocation: 'skip' } }, trustStores: ['ca:s'], trustedIdentities: identities }))),
        trustStore: store,
      }).verify({ target: t, descriptor: subject, repository: REPO });
    const pinned = await verify(['x509.subject: C=US, ST=WA, O=Acme']);
    expect(pinned.verified).to.equal(false);
    const auth = pinned.signatures[0]!.checks.find((c) => c.name === 'authenticity')!;
    expect(auth.status).to.equal('fail');
    expect(auth.reason).to.match(/error while parsing the certificate subject from the digital signature: .*attribute emailAddress/);
    expect((await verify(['*'])).verified).to.equal(true);
  });
});
