// The command table (oclif "explicit" strategy). Command classes are light: each imports its core lazily in run().
import SignCommand from './sign.js';
import PushCommand from './push.js';
import LsCommand from './ls.js';
import InspectCommand from './inspect.js';
import VerifyCommand from './verify.js';
import PullCommand from './pull.js';
import InstallCommand from './install.js';
import GenerateManifestCommand from './generate/manifest.js';
import KeyGenerateCommand from './key/generate.js';
import KeyImportCommand from './key/import.js';
import KeyLsCommand from './key/ls.js';
import KeyRmCommand from './key/rm.js';
import KeyDefaultCommand from './key/default.js';
import CertAddCommand from './cert/add.js';
import CertLsCommand from './cert/ls.js';
import CertRmCommand from './cert/rm.js';
import PolicyInitCommand from './policy/init.js';
import PolicyShowCommand from './policy/show.js';
import PolicyImportCommand from './policy/import.js';
import PolicyValidateCommand from './policy/validate.js';
import PolicyExplainCommand from './policy/explain.js';
import GuardServeCommand from './guard/serve.js';
import GuardInstallCommand from './guard/install.js';
import GuardStatusCommand from './guard/status.js';
import StoreLsCommand from './store/ls.js';
import StorePruneCommand from './store/prune.js';

export const COMMANDS = {
  'sign': SignCommand,
  'push': PushCommand,
  'ls': LsCommand,
  'inspect': InspectCommand,
  'verify': VerifyCommand,
  'pull': PullCommand,
  'install': InstallCommand,
  'generate:manifest': GenerateManifestCommand,
  'key:generate': KeyGenerateCommand,
  'key:import': KeyImportCommand,
  'key:ls': KeyLsCommand,
  'key:rm': KeyRmCommand,
  'key:default': KeyDefaultCommand,
  'cert:add': CertAddCommand,
  'cert:ls': CertLsCommand,
  'cert:rm': CertRmCommand,
  'policy:init': PolicyInitCommand,
  'policy:show': PolicyShowCommand,
  'policy:import': PolicyImportCommand,
  'policy:validate': PolicyValidateCommand,
  'policy:explain': PolicyExplainCommand,
  'guard:serve': GuardServeCommand,
  'guard:install': GuardInstallCommand,
  'guard:status': GuardStatusCommand,
  'store:ls': StoreLsCommand,
  'store:prune': StorePruneCommand,
};

