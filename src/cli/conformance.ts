import type { Command } from './main';

// Placeholder: its owner replaces this file.
export const conformanceCommand: Command = {
  summary: 'run the shared conformance cases',
  help: 'tokenscope conformance <cases-dir> <out-dir>',
  run: async () => {
    throw new Error('conformance: not implemented yet');
  },
};
