import { BaseCommand } from '../base.js';

export default class PolicyShowCommand extends BaseCommand {
  static override summary = 'Show the trust policy';
  static override description = 'Prints the trust policy in effect (trustpolicy.oci.json if present, else trustpolicy.json). An invalid policy is printed as is, followed by the reason on stderr and exit 2.';
  static override examples = ['docker sign policy show', 'docker sign policy show -o json', 'docker sign policy show --config-dir ~/.config/notation'];

  async run(): Promise<void> {
    await this.parseCommon(PolicyShowCommand);
    const { readFile } = await import('node:fs/promises');
    const { firstJsonDocument, locateTrustPolicy, parseTrustPolicy } = await import('../../trust/policy.js');
    const { PolicyError } = await import('../../trust/errors.js');
    const file = await locateTrustPolicy(this.paths);
    if (!file) {
      throw new PolicyError('NO_POLICY', `trust policy is not present (looked for ${this.paths.trustPolicyOci} and ${this.paths.trustPolicy})`, {
        hint: 'create one with `docker sign policy init` or `docker sign policy import FILE`',
      });
    }
    const text = await readFile(file, 'utf8');
    let problem: InstanceType<typeof PolicyError> | undefined;
    let warnings: string[] = [];
    try {
      warnings = parseTrustPolicy(text, file).warnings;
    } catch (e) {
      if (e instanceof PolicyError) problem = e;
      else throw e;
    }
    if (this.json) {
      // the file's first JSON document as written (data after it is ignored, as notation ignores it)
      let doc: unknown = null;
      try {
        doc = JSON.parse(firstJsonDocument(text) ?? '');
      } catch {
        doc = null;
      }
      this.emit({ path: file, valid: !problem, ...(problem ? { error: problem.code, message: problem.message } : {}), warnings, policy: doc }, () => '');
    } else {
      process.stdout.write(text.endsWith('\n') ? text : text + '\n');
      for (const w of warnings) this.info(`Warning: ${w}`);
    }
    if (problem) {
      process.stderr.write(`Error: the trust policy ${file} is invalid: ${problem.message}\n`);
      process.exitCode = problem.exitCode;
    }
  }
}
