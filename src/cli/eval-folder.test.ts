import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  FIXTURE_IMAGES,
  FIXTURE_LABELS,
  fixtureConfig,
  fixtureManifest,
  IMAGENET_MEAN,
  IMAGENET_STD,
  pillowInput,
  writeFixtureModel,
} from '../../tests/helpers/image-folder';
import { referenceForward } from '../../tests/helpers/reference-vit';
import { labelFolderName } from '../io/image-folder';
import type { ImageRecord } from '../measure/image-records';
import type { Summary } from '../measure/results';
import { main } from './main';

const root = mkdtempSync(join(tmpdir(), 'tokenscope-eval-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const modelDir = join(root, 'model');
const timm = writeFixtureModel(modelDir);
const manifest = fixtureManifest();

/** The fixture plus three bad files: empty, truncated, not an image. */
const data = join(root, 'data');
cpSync(FIXTURE_IMAGES, data, { recursive: true });
writeFileSync(join(data, 'cat', 'x-empty.jpg'), new Uint8Array(0));
const jpeg = readFileSync(join(FIXTURE_IMAGES, 'cat', 'a-rgb.jpg'));
writeFileSync(join(data, 'dog', 'y-truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
writeFileSync(join(data, 'ship', 'z-not-an-image.png'), 'hello');
const BAD = ['cat/x-empty.jpg', 'dog/y-truncated.jpg', 'ship/z-not-an-image.png'];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('') };
}

const PLANS = ['--plan', 'tome:r=2,layers=1-3'];
const base = (out: string, extra: string[] = []) => [
  'eval',
  '--model',
  modelDir,
  '--data',
  data,
  ...PLANS,
  '--batch',
  '3',
  '--workers',
  '1',
  '--out',
  out,
  '--json',
  ...extra,
];

const records = (path: string): ImageRecord[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as ImageRecord);
const byFile = (rs: ImageRecord[]) => new Map(rs.map((r) => [r.file, r]));

describe('tokenscope eval on an ImageFolder', () => {
  const single = join(root, 'single.jsonl');
  let summary: Summary;

  it('eval scores every image of a folder of JPEG, PNG and WebP files like the float64 reference fed with Pillow pixels', async () => {
    const r = await cli(base(single));
    expect(r.code).toBe(0);
    summary = JSON.parse(r.out) as Summary;
    const recs = byFile(records(single));
    const S = fixtureConfig.image_size;
    for (const im of manifest.images) {
      const rec = recs.get(im.file)!;
      expect(rec.label, im.file).toBe(FIXTURE_LABELS.map(labelFolderName).indexOf(im.file.split('/')[0]));
      const pil = pillowInput(im.file);
      const pixels = Array.from({ length: S }, (_, y) =>
        Array.from({ length: S }, (_, x) => [0, 1, 2].map((c) => (pil[(y * S + x) * 3 + c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c])),
      );
      const logits = referenceForward(fixtureConfig, timm, pixels);
      const max = Math.max(...logits);
      const z = logits.reduce((a, v) => a + Math.exp(v - max), 0);
      const probs = logits.map((v) => Math.exp(v - max) / z);
      const want = probs.map((p, i) => ({ p, i })).sort((a, b) => b.p - a.p || a.i - b.i);
      const got = rec.plans!.none;
      // Our resize differs from Pillow's by at most one 8-bit level (preprocess.ts), hence the tolerance.
      expect(got.top5[0], im.file).toBe(want[0].i);
      got.top5.forEach((cls, k) => expect(Math.abs(got.prob5[k] - probs[cls]), `${im.file} class ${cls}`).toBeLessThan(0.01));
      expect(got.tokens).toEqual([17, 17, 17, 17, 17]);
      expect(rec.plans!['tome:r=2,layers=1-3'].tokens).toEqual([17, 17, 15, 13, 11]);
    }
  });

  it('eval lists unreadable, truncated and empty images with the reason, counted apart', () => {
    expect(summary.n).toBe(manifest.images.length);
    expect(summary.failed.map((f) => f.file)).toEqual(BAD);
    for (const f of summary.failed) expect(f.error).toMatch(/image-unreadable/);
    expect(summary.plans.map((p) => p.plan)).toEqual(['none', 'tome:r=2,layers=1-3']);
    expect(summary.plans[0].agreement).toBe(1);
    expect(summary.plans[0].kl).toBe(0);
  });

  it('eval with --workers 2 writes the same records as --workers 1', async () => {
    const two = join(root, 'two.jsonl');
    const r = await cli([...base(two), '--workers', '2']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(summary);
    const sorted = (p: string) => readFileSync(p, 'utf8').trim().split('\n').slice(1).sort();
    expect(sorted(two)).toEqual(sorted(single));
  });

  it('eval resumes a torn results file without losing or repeating an image', async () => {
    const torn = join(root, 'torn.jsonl');
    const text = readFileSync(single, 'utf8');
    const lines = text.split('\n');
    // header + 4 whole records + half of the fifth, as a kill mid-write leaves it
    writeFileSync(torn, `${lines.slice(0, 5).join('\n')}\n${lines[5].slice(0, 40)}`);
    const r = await cli(base(torn));
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/torn last line/);
    expect(JSON.parse(r.out)).toEqual(summary);
    const files = records(torn).map((x) => x.file);
    expect(new Set(files).size).toBe(files.length);
    expect(files.sort()).toEqual(
      records(single)
        .map((x) => x.file)
        .sort(),
    );
  });

  it('eval refuses a results file written for another plan list, naming the difference', async () => {
    const r = await cli(['eval', '--model', modelDir, '--data', data, '--plan', 'evit:keep=0.5', '--batch', '3', '--workers', '1', '--out', single]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/written for another run \(plan list/);
  });

  it('three shards, one cut short and resumed, merge to exactly the single-process summary', async () => {
    const shards = [0, 1, 2].map((k) => join(root, `shard-${k}.jsonl`));
    for (const [k, out] of shards.entries()) expect((await cli(base(out, ['--shard', `${k}/3`]))).code).toBe(0);
    // Shard 1 as a kill leaves it: only its first record, and a torn second.
    const lines = readFileSync(shards[1], 'utf8').split('\n');
    writeFileSync(shards[1], `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 25)}`);
    const incomplete = await cli(['merge', ...shards, '--json']);
    expect(incomplete.code).toBe(2);
    expect(incomplete.err).toMatch(/shard-1\.jsonl \(shard 1\/3\) is incomplete/);
    expect((await cli(base(shards[1], ['--shard', '1/3']))).code).toBe(0);
    const merged = await cli(['merge', ...shards, '--json']);
    expect(merged.code).toBe(0);
    expect(JSON.parse(merged.out)).toEqual(summary);
  });

  it('merge refuses a missing shard, a shard given twice and a file from another run, naming them', async () => {
    const shards = [0, 1, 2].map((k) => join(root, `shard-${k}.jsonl`));
    const missing = await cli(['merge', shards[0], shards[2]]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/missing shard 1\/3/);
    const copy = join(root, 'shard-0-copy.jsonl');
    copyFileSync(shards[0], copy);
    const twice = await cli(['merge', ...shards, copy]);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/shard 0\/3 appears more than once/);
    const other = await cli(['merge', ...shards, single]);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/single\.jsonl is not from the same run/);
  });

  it('eval --labels sorted numbers class folders in sorted order (torchvision ImageFolder)', async () => {
    const out = join(root, 'sorted.jsonl');
    expect((await cli([...base(out), '--labels', 'sorted', '--limit', '4'])).code).toBe(0);
    const labels = Object.fromEntries(records(out).map((r) => [r.file.split('/')[0], r.label]));
    // code-point order: 'T-shirt_top' < 'cat' < 'dog' < 'ship'; --limit 4 takes the first 4 files
    expect(labels).toEqual({ 'T-shirt_top': 0, cat: 1 });
    expect(records(out)).toHaveLength(4);
  });

  it('eval gives clear errors with exit status 2 for bad folders and flags', async () => {
    const unknown = join(root, 'unknown');
    mkdirSync(join(unknown, 'n01440764'), { recursive: true });
    copyFileSync(join(FIXTURE_IMAGES, 'cat', 'b-rgb.png'), join(unknown, 'n01440764', 'a.png'));
    let r = await cli(['eval', '--model', modelDir, '--data', unknown]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"n01440764" matches none of the model's labels/);
    expect(r.err).toMatch(/ship, T-shirt\/top \(folder "T-shirt_top"\), cat, dog/);
    expect(r.err).toMatch(/--labels sorted/);
    r = await cli(['eval', '--model', modelDir, '--data', unknown, '--labels', 'sorted']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/1 class folder 0–0, but the model has 4 labels/);
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'cat'), { recursive: true });
    r = await cli(['eval', '--model', modelDir, '--data', empty]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds no files/);
    for (const shard of ['3/2', '0/0', 'x']) {
      r = await cli(['eval', '--model', modelDir, '--data', data, '--shard', shard]);
      expect(r.code, shard).toBe(2);
      expect(r.err).toMatch(/0 ≤ k < n/);
    }
  });

  it('a shard process killed (SIGKILL) mid-run resumes, and the shards merge to exactly the single-process summary', async () => {
    // 80 images (the fixture linked eight times over), one per group, so the kill lands mid-shard.
    const many = join(root, 'many');
    for (let copy = 0; copy < 8; copy++) {
      for (const cls of readdirSync(FIXTURE_IMAGES)) {
        mkdirSync(join(many, cls), { recursive: true });
        for (const f of readdirSync(join(FIXTURE_IMAGES, cls))) linkSync(join(FIXTURE_IMAGES, cls, f), join(many, cls, `${copy}-${f}`));
      }
    }
    const args = (out: string, shard: string) => [
      'eval',
      '--model',
      modelDir,
      '--data',
      many,
      ...PLANS,
      '--batch',
      '1',
      '--workers',
      '1',
      '--out',
      out,
      '--shard',
      shard,
      '--json',
    ];
    const whole = await cli(args(join(root, 'many-single.jsonl'), '0/1'));
    expect(whole.code).toBe(0);
    const shards = [0, 1, 2].map((k) => join(root, `many-${k}.jsonl`));
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'tokenscope.mjs');
    const child = spawn(process.execPath, [bin, ...args(shards[1], '1/3')], { stdio: 'ignore' });
    const exited = new Promise((done) => child.on('exit', done));
    const lines = () => (existsSync(shards[1]) ? readFileSync(shards[1], 'utf8').split('\n').length - 1 : 0);
    while (lines() < 4) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    const recordsAtKill = lines() - 1;
    const shardSize = JSON.parse(readFileSync(shards[1], 'utf8').split('\n')[0]).shard.files as number;
    expect(recordsAtKill).toBeLessThan(shardSize); // killed midway, not after the end
    for (const k of [0, 2]) expect((await cli(args(shards[k], `${k}/3`))).code).toBe(0);
    expect((await cli(args(shards[1], '1/3'))).code).toBe(0);
    const merged = await cli(['merge', ...shards, '--json']);
    expect(merged.code).toBe(0);
    expect(JSON.parse(merged.out)).toEqual(JSON.parse(whole.out));
    const files = records(shards[1]).map((r) => r.file);
    expect(new Set(files).size).toBe(shardSize);
    expect(files).toHaveLength(shardSize);
  });

  it('eval takes a hub id and reads it from the Hugging Face cache with HF_HUB_OFFLINE=1', async () => {
    const cache = join(root, 'hf-hub');
    const repo = join(cache, 'models--tokenscope--fixture');
    const commit = 'c'.repeat(40);
    mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), commit);
    for (const f of ['model.safetensors', 'config.json']) copyFileSync(join(modelDir, f), join(repo, 'snapshots', commit, f));
    vi.stubEnv('HF_HUB_CACHE', cache);
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    try {
      const r = await cli(['eval', '--model', 'tokenscope/fixture', '--data', data, ...PLANS, '--batch', '3', '--workers', '1', '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual(summary); // the same weights (same hash), the same numbers
      const missing = await cli(['eval', '--model', 'tokenscope/other', '--data', data, '--workers', '1']);
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/HF_HUB_OFFLINE is set and tokenscope\/other@main is not in the Hugging Face cache/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
