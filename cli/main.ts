/**
 * The `evalap` command. Errors are one line (the stack trace only with
 * --verbose); the exit code says how the command ended (see ExitCode).
 * Commander's own exits become ours: its help and version are 0, a usage
 * error is 2 with one line (its default is 1, and its own wording).
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../core/errors.js';
import { createProgram } from './commands.js';
import { CliError, ExitCode } from './errors.js';

/** A commander message ("error: unknown option '--x'") as one line, naming the help to read. */
function usageError(err: CommanderError, argv: string[], commands: string[]): CliError {
  const message = err.message.split('\n')[0].replace(/^error: /, '').replace(/'([^']*)'/g, (_, s: string) => JSON.stringify(s));
  const command = argv.find((a) => !a.startsWith('-'));
  const help = command && commands.includes(command) ? `evalap ${command} --help` : 'evalap --help';
  return new CliError(`${message}; see ${help}`, ExitCode.usage);
}

async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = createProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
    // No command given: commander printed the help, on stderr.
    if (err.code === 'commander.help') return ExitCode.usage;
    throw usageError(err, argv, program.commands.map((c) => c.name()));
  }
  return code;
}

const verbose = process.argv.includes('--verbose');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) process.stderr.write(`evalap: ${err.message}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`evalap: configuration error: ${err.message}\n`);
    else process.stderr.write(`evalap: ${(err as Error)?.message ?? String(err)}\n`);
    if (verbose && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exit(err instanceof CliError ? err.exitCode : err instanceof ConfigError ? ExitCode.usage : ExitCode.failed);
  },
);
