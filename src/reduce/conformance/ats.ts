import type { CaseRunner } from './case';

// Placeholder until the method lands; its owner replaces this file.
export const runAtsCase: CaseRunner = () => {
  throw new Error('ats: not implemented yet');
};
