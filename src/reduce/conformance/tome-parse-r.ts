import type { CaseRunner } from './case';

// Placeholder until the method lands; its owner replaces this file.
export const runTomeParseRCase: CaseRunner = () => {
  throw new Error('tome-parse-r: not implemented yet');
};
