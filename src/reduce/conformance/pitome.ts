import type { CaseRunner } from './case';

// Placeholder until the method lands; its owner replaces this file.
export const runPitomeCase: CaseRunner = () => {
  throw new Error('pitome: not implemented yet');
};
