import { expect } from 'chai';
import { proxyFor } from '../../src/registry/proxy.js';

const P = 'http://proxy.corp:3128';
const at = (url: string, env: NodeJS.ProcessEnv) => proxyFor(new URL(url), env)?.href;

describe('registry: proxy from the environment (Go net/http rules, as docker and notation)', () => {
  it('https URLs use HTTPS_PROXY, http URLs HTTP_PROXY; upper case first, no fallback between them', () => {
    expect(at('https://registry.example.com/v2/', { HTTPS_PROXY: P })).to.equal(`${P}/`);
    expect(at('https://registry.example.com/v2/', { https_proxy: P })).to.equal(`${P}/`);
    expect(at('https://registry.example.com/v2/', { HTTPS_PROXY: P, https_proxy: 'http://other:1' })).to.equal(`${P}/`);
    expect(at('https://registry.example.com/v2/', { HTTP_PROXY: P })).to.equal(undefined);
    expect(at('http://registry.example.com/v2/', { HTTP_PROXY: P })).to.equal(`${P}/`);
    expect(at('http://registry.example.com/v2/', { http_proxy: P })).to.equal(`${P}/`);
    expect(at('http://registry.example.com/v2/', { HTTPS_PROXY: P })).to.equal(undefined);
    expect(at('https://registry.example.com/v2/', {})).to.equal(undefined);
  });

  it('localhost and loopback addresses are never proxied', () => {
    for (const u of ['https://localhost:5000/', 'https://127.0.0.1:5000/', 'https://127.9.9.9/', 'https://[::1]:5000/', 'https://[::ffff:127.0.0.1]/']) {
      expect(at(u, { HTTPS_PROXY: P }), u).to.equal(undefined);
    }
    expect(at('https://10.0.0.1:5000/', { HTTPS_PROXY: P })).to.equal(`${P}/`);
  });

  it('NO_PROXY: *, names with their subdomains, leading-dot (or *.) subdomains only, ports, IPs and CIDR ranges', () => {
    const env = (no: string) => ({ HTTPS_PROXY: P, NO_PROXY: no });
    expect(at('https://registry.example.com/', env('*'))).to.equal(undefined);
    expect(at('https://example.com/', env('example.com'))).to.equal(undefined);
    expect(at('https://registry.example.com/', env('example.com'))).to.equal(undefined);
    expect(at('https://notexample.com/', env('example.com'))).to.equal(`${P}/`);
    expect(at('https://example.com/', env('.example.com'))).to.equal(`${P}/`);
    expect(at('https://registry.example.com/', env('.example.com'))).to.equal(undefined);
    expect(at('https://registry.example.com/', env('*.example.com'))).to.equal(undefined);
    expect(at('https://registry.example.com:5000/', env('registry.example.com:5000'))).to.equal(undefined);
    expect(at('https://registry.example.com/', env('registry.example.com:5000'))).to.equal(`${P}/`); // :443 here
    expect(at('https://10.1.2.3/', env('10.1.2.3'))).to.equal(undefined);
    expect(at('https://10.1.2.4/', env('10.1.2.3'))).to.equal(`${P}/`);
    expect(at('https://10.1.2.3/', env('10.0.0.0/8'))).to.equal(undefined);
    expect(at('https://11.1.2.3/', env('10.0.0.0/8'))).to.equal(`${P}/`);
    expect(at('https://[fd00::5]/', env('fd00::/8'))).to.equal(undefined);
    expect(at('https://Registry.Example.COM/', env(' other.org , EXAMPLE.com '))).to.equal(undefined);
    expect(at('https://registry.example.com/', { HTTPS_PROXY: P, no_proxy: 'example.com' })).to.equal(undefined);
  });

  it('a proxy without a scheme is http://; https proxies and credentials are kept; socks and junk are refused', () => {
    expect(at('https://r.example.com/', { HTTPS_PROXY: 'proxy.corp:3128' })).to.equal('http://proxy.corp:3128/');
    expect(at('https://r.example.com/', { HTTPS_PROXY: 'https://u:p%40ss@proxy.corp:3129' })).to.equal('https://u:p%40ss@proxy.corp:3129/');
    expect(() => at('https://r.example.com/', { HTTPS_PROXY: 'socks5://proxy.corp:1080' })).to.throw().with.property('code', 'UNSUPPORTED_PROXY');
    expect(() => at('https://r.example.com/', { HTTPS_PROXY: 'http://[bad' })).to.throw().with.property('code', 'INVALID_PROXY');
  });
});
