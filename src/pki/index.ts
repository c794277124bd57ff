/**
 * Signing keys and certificates. Light on purpose (node:crypto only): certificate *creation* lives in
 * ./generate.js (loads @peculiar/x509) and is imported lazily by `key generate`.
 */
export { loadSigner, loadKeyMaterial, signerFromKey, parseCertificates, parsePrivateKey, keyMatchesCertificate, orderChain, certificatesToPem, type LoadedKey } from './keys.js';
export { readSigningKeys, writeSigningKeys, addLocalKey, removeKey, setDefaultKey, findKey, validateKeyName, type KeyEntry, type SigningKeys } from './keystore.js';
export { checkSigningChain, CertificateRequirementError } from './requirements.js';
export { importKey, type ImportKeyOptions } from './import.js';
export { listKeys, type KeyInfo } from './describe.js';
