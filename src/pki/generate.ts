import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import { InputError } from '../errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type TestKeyType = 'rsa-3072' | 'ec-p256' | 'ec-p384';

export interface GeneratedKey {
  privateKey: KeyObject;
  /** PKCS#8 PEM of the leaf private key. */
  keyPem: string;
  /** Leaf first, then the root. */
  chain: X509Certificate[];
  /** PEM of the chain, leaf first. */
  chainPem: string;
  rootPem: string;
}

function algFor(type: TestKeyType) {
  if (type === 'rsa-3072') {
    return {
      gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
      sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
    };
  }
  const curve = type === 'ec-p256' ? 'P-256' : 'P-384';
  return { gen: { name: 'ECDSA', namedCurve: curve }, sign: { name: 'ECDSA', hash: type === 'ec-p256' ? 'SHA-256' : 'SHA-384' } };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f | 0x01;
  return b.toString('hex');
}

/**
 * A test PKI like `notation cert generate-test`, but with a separate root: a self-signed root CA
 * (basicConstraints CA:true critical, keyUsage keyCertSign+cRLSign critical) and a code-signing leaf
 * (basicConstraints CA:false critical, keyUsage digitalSignature critical, EKU codeSigning), both with `type` keys.
 */
const LAST_VALIDITY_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

export async function generateTestKey(opts: {
  name: string;
  type?: TestKeyType;
  subject?: string;
  days?: number;
  /** Validity window of both certificates (tests of expired chains); default from a minute ago for `days`. */
  validity?: { notBefore: Date; notAfter: Date };
}): Promise<GeneratedKey> {
  const type = opts.type ?? 'rsa-3072';
  const { gen, sign } = algFor(type);
  const subtle = webcrypto.subtle;
  const notBefore = opts.validity?.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = opts.validity?.notAfter ?? new Date(Date.now() + (opts.days ?? 365) * 86_400_000);
  // X.509 GeneralizedTime ends with the year 9999 (RFC 5280 4.1.2.5: 99991231235959Z means "no end")
  if (!(notAfter.getTime() <= LAST_VALIDITY_MS)) {
    throw new InputError('INVALID_VALIDITY', `a certificate valid for ${opts.days ?? 365} days would end after 9999-12-31`, {
      hint: `use --days ${Math.max(1, Math.floor((LAST_VALIDITY_MS - Date.now()) / 86_400_000))} or fewer`,
    });
  }
  const rootKeys = (await subtle.generateKey(gen as never, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await subtle.generateKey(gen as never, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafSubject = opts.subject ?? `C=US, ST=WA, L=Seattle, O=Notary, CN=${opts.name}`;
  checkSubject(leafSubject);
  const rootSubject = `C=US, ST=WA, L=Seattle, O=Notary, CN=${opts.name} Root CA`;

  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: rootSubject,
    notBefore,
    notAfter,
    keys: rootKeys as never,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey as never),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: leafSubject,
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey as never,
    signingKey: rootKeys.privateKey as never,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning], false),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey as never),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey as never),
    ],
  });
  const privateKey = KeyObject.from(leafKeys.privateKey as unknown as webcrypto.CryptoKey);
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const chain = [new X509Certificate(Buffer.from(leaf.rawData)), new X509Certificate(Buffer.from(root.rawData))];
  const chainPem = chain.map((c) => c.toString().trim() + '\n').join('');
  return { privateKey, keyPem, chain, chainPem, rootPem: chain[1]!.toString().trim() + '\n' };
}

/** A subject @peculiar/x509 encodes as written: known attribute types, every value non-empty (it would make "garbage" an empty name). */
function checkSubject(subject: string): void {
  let rdns: Record<string, string[]>[];
  try {
    rdns = new x509.Name(subject).toJSON();
  } catch (e) {
    throw new InputError('INVALID_SUBJECT', `subject "${subject}" has an attribute type that cannot be encoded (${(e as Error).message})`, {
      hint: 'use C, ST, L, O, OU, CN, E, DC or a dotted OID, e.g. --subject "C=US, ST=WA, O=Example, CN=Build Signer"',
    });
  }
  const values = rdns.flatMap((r) => Object.values(r).flat());
  if (values.length === 0 || values.some((v) => v.trim() === '')) {
    throw new InputError('INVALID_SUBJECT', `subject "${subject}" is not a distinguished name of TYPE=value attributes`, { hint: 'e.g. --subject "C=US, ST=WA, O=Example, CN=Build Signer"' });
  }
}
