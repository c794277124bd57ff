import { expect } from 'chai';
import { splitPluginArgv, routeArgs, applyGlobalsToEnv, PluginArgvError } from '../../plugins/cli/argv.js';

describe('cli: docker plug-in argv routing', () => {
  it('strips docker global flags before the plug-in name and keeps them', () => {
    const r = splitPluginArgv('sign', ['--debug', '-H', 'unix:///tmp/d.sock', 'sign', 'verify', 'img:1']);
    expect(r.args).to.deep.equal(['verify', 'img:1']);
    expect(r.globals).to.deep.equal({ debug: true, host: 'unix:///tmp/d.sock' });
  });

  it('handles --flag=value forms and --context / --config', () => {
    const r = splitPluginArgv('sign', ['--context=other', '--config', '/tmp/dc', '--log-level=debug', 'sign', 'ls', 'x']);
    expect(r.globals).to.deep.equal({ context: 'other', config: '/tmp/dc' });
    expect(r.args).to.deep.equal(['ls', 'x']);
  });

  it('`docker help sign` and `docker sign --help` both give help', () => {
    expect(splitPluginArgv('sign', ['help', 'sign']).args).to.deep.equal(['--help']);
    expect(splitPluginArgv('sign', ['sign', '--help']).args).to.deep.equal(['--help']);
    expect(splitPluginArgv('generate', ['help', 'generate']).args).to.deep.equal(['generate', '--help']);
  });

  it('a first word that is not a command is an image: `docker sign IMG` = `sign IMG`', () => {
    expect(splitPluginArgv('sign', ['sign', 'localhost:5000/app:1', '--key', 'k']).args).to.deep.equal(['sign', 'localhost:5000/app:1', '--key', 'k']);
    expect(routeArgs('sign', ['guard', 'serve'])).to.deep.equal(['guard', 'serve']);
    expect(routeArgs('sign', ['install', '--shell'])).to.deep.equal(['install', '--shell']);
    expect(routeArgs('sign', [])).to.deep.equal(['--help']);
  });

  it('docker generate defaults to the manifest sub-command', () => {
    expect(splitPluginArgv('generate', ['generate', 'img:1']).args).to.deep.equal(['generate', 'manifest', 'img:1']);
    expect(routeArgs('generate', ['manifest', 'img:1'])).to.deep.equal(['generate', 'manifest', 'img:1']);
    expect(routeArgs('generate', [])).to.deep.equal(['generate', '--help']);
  });

  it('rejects unknown words before the name and a missing name', () => {
    expect(() => splitPluginArgv('sign', ['--bogus', 'sign'])).to.throw(PluginArgvError);
    expect(() => splitPluginArgv('sign', ['-H'])).to.throw(PluginArgvError, /needs a value/);
    expect(() => splitPluginArgv('sign', ['--debug'])).to.throw(PluginArgvError, /not found/);
  });

  it('global flags become the environment docker would use (--context beats DOCKER_HOST)', () => {
    const env: NodeJS.ProcessEnv = { DOCKER_HOST: 'unix:///old.sock' };
    applyGlobalsToEnv({ host: 'unix:///new.sock', config: '/tmp/dc' }, env);
    expect(env).to.include({ DOCKER_HOST: 'unix:///new.sock', DOCKER_CONFIG: '/tmp/dc' });
    const env2: NodeJS.ProcessEnv = { DOCKER_HOST: 'unix:///old.sock' };
    applyGlobalsToEnv({ context: 'other' }, env2);
    expect(env2.DOCKER_CONTEXT).to.equal('other');
    expect(env2.DOCKER_HOST).to.equal(undefined);
    // the "default" context is DOCKER_HOST when set (as `docker --context default images` uses it)
    const env3: NodeJS.ProcessEnv = { DOCKER_HOST: 'unix:///old.sock' };
    applyGlobalsToEnv({ context: 'default' }, env3);
    expect(env3).to.include({ DOCKER_CONTEXT: 'default', DOCKER_HOST: 'unix:///old.sock' });
  });
});
