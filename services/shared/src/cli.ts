/**
 * One way for every command-line tool (npm run webhook:send, kafka:topics, dlq:replay, migrate, synth, chart,
 * cluster:check, bench:*, chaos, fuzz, dev:*) to read its options: each option is declared once with its help text,
 * `--help`/`-h` prints them with the environment variables the tool reads, and bad input — an unknown option, a
 * missing value, a bad environment variable — ends the process with one line and a hint instead of a stack trace.
 *
 * Exit codes, the same in every tool and service: 0 done, 1 the work failed, 2 bad usage or configuration
 * (EXIT_USAGE, also for a ConfigError at start-up).
 */
import { type ParseArgsOptionDescriptor, parseArgs } from 'node:util';
import { ConfigError } from './env.ts';

/** Bad usage or configuration: a typo the user can fix. */
export const EXIT_USAGE = 2;
/** The work itself failed (a broker or database unreachable, a failed migration, …). */
export const EXIT_FAILURE = 1;

export type CliOption = ParseArgsOptionDescriptor & {
  description: string;
  /** How the value is shown in the help, e.g. `<url>`; default `<value>` for string options. */
  valueName?: string;
};

export interface CliSpec<Options extends Record<string, CliOption>> {
  /** How the user runs it, e.g. `npm run webhook:send --`. */
  command: string;
  /** One line: what it does. */
  summary: string;
  options: Options;
  /** Usage of positional arguments, e.g. `[N|all]`; none accepted when unset. */
  positionals?: string;
  /** Environment variables the tool reads, with their meaning. */
  environment?: Record<string, string>;
  /** Complete example command lines. */
  examples?: string[];
}

/** Declares a tool's options (an identity function that keeps the option types for the parsed values). */
export function cliSpec<Options extends Record<string, CliOption>>(spec: CliSpec<Options>): CliSpec<Options> {
  return spec;
}

/** Bad input found after parsing (a missing or invalid option); printed as one line plus the help hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h', description: 'print this help and exit' } } as const;

export function helpText(spec: CliSpec<Record<string, CliOption>>): string {
  const options = { ...spec.options, ...HELP_OPTION } as Record<string, CliOption>;
  const rows = Object.entries(options).map(([name, option]) => {
    const value = option.type === 'string' ? ` ${option.valueName ?? '<value>'}` : '';
    const short = option.short ? `-${option.short}, ` : '';
    const fallback = option.default !== undefined && option.default !== false ? ` (default: ${option.default})` : '';
    return [`  ${short}--${name}${value}`, `${option.description}${fallback}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = [
    `usage: ${spec.command} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    '',
    spec.summary,
    '',
    'options:',
    ...rows.map(([left, right]) => `${left.padEnd(width)}${right}`),
  ];
  if (spec.environment && Object.keys(spec.environment).length > 0) {
    const envWidth = Math.max(...Object.keys(spec.environment).map((name) => name.length)) + 4;
    lines.push('', 'environment:');
    for (const [name, meaning] of Object.entries(spec.environment))
      lines.push(`  ${name.padEnd(envWidth - 2)}${meaning}`);
  }
  if (spec.examples?.length) lines.push('', 'examples:', ...spec.examples.map((example) => `  ${example}`));
  return lines.join('\n');
}

/** What a tool prints for bad usage: the problem on one line, then where the options are listed. */
export function usageLine(tool: string, message: string): string {
  return `${tool}: ${message}\n(run with --help for the options)`;
}

/** The one line a tool prints for bad usage; `--help` tells the rest. */
export function failUsage(tool: string, message: string): never {
  process.stderr.write(`${usageLine(tool, message)}\n`);
  process.exit(EXIT_USAGE);
}

type ParsedValues<Options extends Record<string, CliOption>> = ReturnType<
  typeof parseArgs<{ options: Options; allowPositionals: true; strict: true }>
>['values'];

export type CliParse<Options extends Record<string, CliOption>> =
  | { kind: 'ok'; values: ParsedValues<Options>; positionals: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'usage-error'; message: string };

/** Parses `argv` against the spec without touching the process (for tools that report through their own I/O). */
export function readCli<Options extends Record<string, CliOption>>(
  spec: CliSpec<Options>,
  argv: string[],
): CliParse<Options> {
  // A bare leading `--` (passed through by some npm versions) is not an argument.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const descriptors: Record<string, ParseArgsOptionDescriptor> = {};
  for (const [name, option] of Object.entries({ ...spec.options, ...HELP_OPTION })) {
    const { description: _description, valueName: _valueName, ...descriptor } = option as CliOption;
    descriptors[name] = descriptor;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: descriptors, allowPositionals: true, strict: true });
  } catch (err) {
    return { kind: 'usage-error', message: oneLine((err as Error).message) };
  }
  if (parsed.values.help) return { kind: 'help', text: helpText(spec as CliSpec<Record<string, CliOption>>) };
  if (!spec.positionals && parsed.positionals.length > 0) {
    return { kind: 'usage-error', message: `unexpected argument "${parsed.positionals[0]}"` };
  }
  return { kind: 'ok', values: parsed.values as ParsedValues<Options>, positionals: parsed.positionals };
}

/** The tool's short name for messages: `webhook:send` for `npm run webhook:send --`. */
export function toolName(spec: { command: string }): string {
  return spec.command.replace(/^npm run /, '').replace(/\s*--$/, '');
}

/**
 * Parses `argv` against the spec. `--help` prints the help on stdout and exits 0; an unknown option or a missing
 * value prints one line and exits with EXIT_USAGE.
 */
export function parseCli<Options extends Record<string, CliOption>>(
  spec: CliSpec<Options>,
  argv: string[] = process.argv.slice(2),
): { values: ParsedValues<Options>; positionals: string[] } {
  const parsed = readCli(spec, argv);
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    process.exit(0);
  }
  if (parsed.kind === 'usage-error') failUsage(toolName(spec), parsed.message);
  return parsed;
}

/** node:util's messages carry a hint of their own ("To specify a positional argument …"): keep the first line. */
function oneLine(message: string): string {
  return message.split('\n')[0]?.replace(/\.\s+To specify.*$/, '') ?? message;
}

/**
 * Makes an uncaught error end the tool with one line (`name: message`) instead of a stack trace: exit 2 for a
 * ConfigError or UsageError, 1 otherwise. PM_DEBUG=1 keeps the stack for a bug report.
 */
export function oneLineErrors(name: string): void {
  const report = (err: unknown) => {
    if (process.env.PM_DEBUG === '1') console.error(err);
    const usage = err instanceof ConfigError || err instanceof UsageError;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: ${message}${usage ? '\n(run with --help for the options)' : ''}\n`);
    process.exit(usage ? EXIT_USAGE : EXIT_FAILURE);
  };
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
}
