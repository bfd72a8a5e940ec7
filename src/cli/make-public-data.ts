/**
 * Regenerates the bundled data in public/ from the installed Fashion-MNIST test split:
 *   public/data/fmnist-test-1000.bin    the first 100 test images of each class (io/eval-set.ts format)
 *   public/images/fmnist/*.png          the first test image of each class, 28×28 greyscale
 * Run: npx tsx src/cli/make-public-data.ts [fashion-mnist dir]
 * (The photographs in public/images/ were made with ImageMagick; see public/NOTICE.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../io/datasets';
import { balancedSubset, encodeEvalSet } from '../io/eval-set';
import { loadFashionMnist } from '../io/node-files';
import { encodePng } from '../io/png';

const dir = process.argv[2] ?? FASHION_MNIST_DIR;
const test = loadFashionMnist('test', dir);
const grey = { count: test.count, size: test.rows, images: test.images, labels: test.labels };

mkdirSync('public/data', { recursive: true });
const set = balancedSubset(grey, FASHION_MNIST_CLASSES.length, 100);
writeFileSync('public/data/fmnist-test-1000.bin', encodeEvalSet(set));
console.log(`public/data/fmnist-test-1000.bin: ${set.count} images, test indices ${set.sourceIndex[0]}..${set.sourceIndex[set.count - 1]}`);

mkdirSync('public/images/fmnist', { recursive: true });
const px = grey.size * grey.size;
FASHION_MNIST_CLASSES.forEach((name, label) => {
  const i = grey.labels.indexOf(label);
  const slug = name.toLowerCase().replace(/[^a-z]+/g, '-');
  const file = `public/images/fmnist/test-${String(i).padStart(4, '0')}-${slug}.png`;
  writeFileSync(
    file,
    encodePng(grey.images.subarray(i * px, (i + 1) * px), grey.size, grey.size, 1, (raw) => deflateSync(raw, { level: 9 })),
  );
  console.log(file);
});
