/** The CLI's one error type: a one-line message and the exit code it ends with. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    /** 1: a gate failed; 2: bad usage or input; 3: the API or the run failed; 130: interrupted. */
    public readonly exitCode = 3,
    /** The API's HTTP status, when the API refused the request. */
    public readonly status?: number,
  ) {
    super(message);
  }
}

export const ExitCode = { ok: 0, gateFailed: 1, usage: 2, failed: 3, interrupted: 130 } as const;
