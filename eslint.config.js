// ESLint flat config: JavaScript's and typescript-eslint's recommended rules everywhere, the React
// hooks rules on React code. Formatting is Prettier's job (.prettierrc.json): no stylistic rules here.
// Every rule is an error or off: a warning nobody has to fix is noise.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'out/', 'test-results/', 'tests/fixtures/', 'models/', 'public/'] },
  {
    // An eslint-disable comment that no longer silences anything is an error, so the ones left mean something.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // The code runs in pages, workers and Node (CLI, tests, build scripts).
      globals: { ...globals.browser, ...globals.worker, ...globals.node },
    },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a name that is there on purpose but unused (a callback's
      // positional argument, a destructured element or a rest sibling being dropped).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // React code: components (.tsx) and hook modules (use-*.ts). Elsewhere `use…` names are TF.js
    // backend helpers (useBackend, useWasmBackend), not React hooks.
    files: ['**/*.tsx', '**/use-*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      // The plugin's React Compiler rules (set-state-in-effect, refs, purity, …) are left off: the
      // app is not built with the React Compiler, and the patterns they flag here (a ref holding
      // the latest props, state reset when a prop changes) are correct without it.
    },
  },
);
