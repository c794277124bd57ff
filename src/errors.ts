/**
 * Typed errors. Every error the core throws on purpose is a DockerSignError with a stable `code`
 * (callers switch on it), a human `message`, an optional `hint` (what the user can do next) and the
 * process exit code the CLI uses for it. Anything else reaching the CLI is reported as an internal error.
 */
export type ExitCode = number;

/** Exit codes documented in the README. */
export const EXIT = {
  OK: 0,
  /** Verification ran and no signature satisfied the policy / guard denied. */
  VERIFICATION_FAILED: 1,
  /** Bad usage or bad input (malformed reference, invalid file, invalid policy). */
  USAGE: 2,
  /** Registry / network / engine failure. */
  UNAVAILABLE: 3,
  /** Unexpected internal error (a bug). */
  INTERNAL: 70,
} as const;

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  exitCode?: ExitCode;
  details?: Record<string, unknown>;
}

export class DockerSignError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: ExitCode;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT.USAGE;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}), ...(this.details ?? {}) };
  }
}

/** Malformed user input: references, digests, files, flags. */
export class InputError extends DockerSignError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { exitCode: EXIT.USAGE, ...opts });
  }
}

/** Configuration problems: config dir, trust store, policy files, keys. */
export class ConfigError extends DockerSignError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { exitCode: EXIT.USAGE, ...opts });
  }
}

export function isDockerSignError(e: unknown): e is DockerSignError {
  return e instanceof DockerSignError;
}
