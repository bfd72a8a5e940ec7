/** `tokenscope <command>`: one file per command; this one only dispatches and prints help. */
export interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

type CommandLoader = () => Promise<Command>;

const commands: Record<string, CommandLoader> = {
  conformance: async () => (await import('./conformance')).conformanceCommand,
  train: async () => (await import('./train')).trainCommand,
  eval: async () => (await import('./eval')).evalCommand,
  flops: async () => (await import('./flops')).flopsCommand,
  sweep: async () => (await import('./sweep')).sweepCommand,
  bench: async () => (await import('./bench')).benchCommand,
  predict: async () => (await import('./predict')).predictCommand,
  merge: async () => (await import('./merge')).mergeCommand,
};

function usage(): string {
  return [
    'usage: tokenscope <command> [options]     (tokenscope <command> --help for details)',
    '',
    'commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const load = commands[name];
  if (!load) {
    console.error(`tokenscope: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`tokenscope ${name}: ${err.code ? `[${err.code}] ` : ''}${err.message}`);
    return 1;
  }
}
