import type { CaseRunner } from './case';

// Placeholder until the method lands; its owner replaces this file.
export const runTomeCase: CaseRunner = () => {
  throw new Error('tome: not implemented yet');
};
