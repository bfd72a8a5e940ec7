import type { CaseRunner } from './case';

// Placeholder until the method lands; its owner replaces this file.
export const runMctfCase: CaseRunner = () => {
  throw new Error('mctf: not implemented yet');
};
