/**
 * The layers of src/, checked by `npm run lint:layers` (part of `npm test`):
 *
 *   tokens ← model ← reduce ← measure ← app, cli
 *
 * tokens is the vocabulary the model and the methods share (assignment, reduction types); the model
 * offers a hook and knows nothing of the methods; app and cli are two front ends that never import
 * each other; io (files, formats) never reaches up into either. errors.ts is open to all.
 * Tests may cross layers to check one against another (a CLI number against the page's), except
 * that nothing under src/model/ imports src/reduce/, tests included.
 */
const TEST = '\\.test\\.tsx?$';

/** A rule forbidding `from` (non-test files unless `tests`) to import any of `to`. */
function layer(name, comment, from, to, { tests = false } = {}) {
  return {
    name,
    comment,
    severity: 'error',
    from: tests ? { path: from } : { path: from, pathNot: TEST },
    to: { path: `^src/(${to.join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    layer('tokens-is-the-base', 'src/tokens is below every other layer', '^src/tokens/', ['model', 'reduce', 'measure', 'io', 'train', 'app', 'cli'], {
      tests: true,
    }),
    layer('model-knows-no-methods', 'the model offers a hook; the methods live above it', '^src/model/', ['reduce'], { tests: true }),
    layer('model-below-measure', 'the model is below measure, training and the front ends', '^src/model/', ['measure', 'train', 'app', 'cli']),
    layer('reduce-below-measure', 'the methods are below measure, training and the front ends', '^src/reduce/', ['measure', 'train', 'app', 'cli']),
    layer('measure-below-front-ends', 'measure is below the front ends', '^src/measure/', ['app', 'cli']),
    layer('train-below-front-ends', 'training is below the front ends', '^src/train/', ['app', 'cli']),
    layer('io-independent-of-front-ends', 'io never reaches up into the page or the CLI', '^src/io/', ['app', 'cli'], { tests: true }),
    layer('app-not-cli', 'the page and the CLI never import each other', '^src/app/', ['cli']),
    layer('cli-not-app', 'the page and the CLI never import each other', '^src/cli/', ['app']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] },
  },
};
