/**
 * Throughput of `tokenscope eval` on an ImageFolder of 500×375 JPEGs with a DeiT-Tiny-shaped
 * checkpoint (seeded random weights, timm layout, crop_pct 0.875), for docs/PERFORMANCE.md. Not a
 * test: run by hand, on a machine as quiet as you can get.
 *
 *   npx tsx tests/bench/image-folder-bench.ts [--images 400] [--workers 1,2] [--plan none] [--memory 10000] [--arch deit-t|narrow]
 *
 * Makes `--images` distinct JPEGs (smooth colour fields plus noise, quality 90, 20 class folders),
 * then runs the CLI once per worker count and reads the rate it reports (images/s from the first
 * image on, model loading excluded) and its read + decode + preprocess vs forward split. With
 * `--memory N` it also runs N images (the distinct ones hard-linked over and over) on the largest
 * worker count and samples the process's resident memory every 2 s.
 */
import { spawn } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { archConfig } from '../../src/model/config';
import { encodeCheckpoint, randomTimmArrays, seededRandom, timmConfigJson } from '../helpers/checkpoints';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '400' },
    workers: { type: 'string', default: '1,2' },
    plan: { type: 'string', default: 'none' },
    batch: { type: 'string', default: '16' },
    memory: { type: 'string' },
    arch: { type: 'string', default: 'deit-t' },
  },
});
const CLASSES = 20;
const root = mkdtempSync(join(tmpdir(), 'tokenscope-folder-bench-'));
const cli = join(import.meta.dirname, '..', '..', 'bin', 'tokenscope.mjs');

async function makeJpeg(seed: number): Promise<Buffer> {
  const rand = seededRandom(seed);
  const [w, h] = [500, 375];
  const px = Buffer.alloc(w * h * 3);
  const base = [rand(), rand(), rand()].map((v) => 60 + 140 * v);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = base[c] + 50 * Math.sin((x * (c + 1)) / 37 + seed) * Math.cos(y / (23 + c)) + 24 * (rand() - 0.5);
        px[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** deit-t, or 'narrow': DeiT-Tiny's input and tokens with a 64-wide, 2-block body (a cheap forward, so a run measures the image pipeline). */
function writeModel(dir: string) {
  const arch =
    values.arch === 'narrow'
      ? { ...archConfig('deit-t'), hidden_size: 64, num_attention_heads: 1, intermediate_size: 256, num_hidden_layers: 2 }
      : archConfig(values.arch!);
  const config = { ...arch, id2label: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [String(i), `class${i}`])) };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), encodeCheckpoint(randomTimmArrays(config, 7), 'F32'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      timmConfigJson('deit_tiny_patch16_224', 1000, 224, {
        label_names: Object.values(config.id2label),
        pretrained_cfg: { input_size: [3, 224, 224], interpolation: 'bicubic', crop_pct: 0.875, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      }),
    ),
  );
}

interface RunResult {
  rate: number;
  prepareS: number;
  forwardS: number;
  rssMiB: { images: number; mib: number }[];
  wallS: number;
}

function run(data: string, model: string, workers: number, sampleMemory: boolean): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      'node',
      [cli, 'eval', '--model', model, '--data', data, '--plan', values.plan!, '--workers', String(workers), '--batch', values.batch!, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let done = 0;
    const rssMiB: RunResult['rssMiB'] = [];
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = [...err.matchAll(/eval (\d+)\/\d+/g)].at(-1);
      if (m) done = Number(m[1]);
    });
    const timer = sampleMemory
      ? setInterval(() => {
          try {
            const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
            rssMiB.push({ images: done, mib: Math.round(kb / 1024) });
          } catch {
            /* the process has ended */
          }
        }, 2000)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearInterval(timer);
      if (code !== 0) return reject(new Error(`eval exited ${code}: ${err.slice(-2000)}`));
      const rate = Number([...err.matchAll(/ ([\d.]+) img\/s/g)].at(-1)?.[1]);
      const split = /read \+ decode \+ preprocess ([\d.]+) s, forward passes ([\d.]+) s/.exec(err);
      resolve({ rate, prepareS: Number(split?.[1]), forwardS: Number(split?.[2]), rssMiB, wallS: (performance.now() - t0) / 1000 });
    });
  });
}

try {
  const n = Number(values.images);
  const data = join(root, 'data');
  const model = join(root, 'model');
  writeModel(model);
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const dir = join(data, `class${i % CLASSES}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `img${String(i).padStart(6, '0')}.jpg`);
    writeFileSync(file, await makeJpeg(i + 1));
    files.push(file);
  }
  console.log(`${n} JPEGs 500×375 in ${CLASSES} folders; ${values.arch} shapes, plan ${values.plan}, batch ${values.batch}`);
  for (const w of values.workers!.split(',').map(Number)) {
    const r = await run(data, model, w, false);
    console.log(
      JSON.stringify({
        workers: w,
        images_per_s: r.rate,
        prepare_s: r.prepareS,
        forward_s: r.forwardS,
        prepare_over_forward: Number((r.prepareS / r.forwardS).toFixed(3)),
        wall_s: Number(r.wallS.toFixed(1)),
      }),
    );
  }
  if (values.memory) {
    const total = Number(values.memory);
    const big = join(root, 'big');
    for (let i = 0; i < total; i++) {
      const dir = join(big, `class${i % CLASSES}`);
      mkdirSync(dir, { recursive: true });
      linkSync(files[i % files.length], join(dir, `img${String(i).padStart(6, '0')}.jpg`));
    }
    const w = Math.max(...values.workers!.split(',').map(Number));
    const r = await run(big, model, w, true);
    console.log(JSON.stringify({ memory_run: { images: total, workers: w, images_per_s: r.rate, rss_mib: r.rssMiB } }));
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
