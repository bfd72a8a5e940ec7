import type { CaseRunner } from './case';

// Placeholder until the method lands; its owner replaces this file.
export const runEvitCase: CaseRunner = () => {
  throw new Error('evit: not implemented yet');
};
