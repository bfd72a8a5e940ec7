/**
 * `tokenscope predict`: one image through one pretrained checkpoint (local files only), printing
 * the top-5 classes and the raw logits. Loading goes through io/checkpoint.ts and preprocessing
 * through io/preprocess.ts, exactly as the browser does; an image already at the model's input
 * size is only normalised, so outputs can be checked exactly against another implementation.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { TokenScopeError } from '../errors';
import { disposeCheckpoint, loadCheckpoint, type CheckpointFiles, type LoadedCheckpoint } from '../io/checkpoint';
import { readFileBytes } from '../io/node-files';
import { decodeImageBytes } from '../io/decode-image-node';
import { describeStep, preprocessImage } from '../io/preprocess';
import { useBackend } from '../model/backend';
import { numLabels } from '../model/config';
import { traceCounts } from '../measure/plan-flops';
import { runForward } from '../model/run';
import { compilePlan } from '../reduce/compile';
import { evidenceRecords, type EvidenceRecord } from '../reduce/evidence';
import { planFromText, planHelp } from '../reduce/plan';
import type { Command } from './main';

const help = `tokenscope predict --model <dir|file.safetensors> --image <file> [--plan "<plan>"] [--json] [--evidence]

Classifies one image with a pretrained ViT/DeiT checkpoint from local files and prints the top-5
classes {label, index, prob} and the raw logits. Runs on the wasm backend.

Options:
  --model PATH     a directory with model.safetensors (and, if present, config.json and
                   preprocessor_config.json), or a .safetensors file (architecture inferred from
                   the tensor shapes unless --config is given). timm, Hugging Face ViT (vit.) and
                   DeiT (deit.) layouts; F32, F16 or BF16
  --config FILE    config.json for a .safetensors file given alone
  --image FILE     .png, .jpg or .webp (preprocessed as the checkpoint says: resize, crop, normalise; an image
                   already at the model's input size is only normalised), or model input that is
                   already normalised: .npy (float32/float64, shape [S,S,C], [1,S,S,C] or [S,S])
                   or .bin (little-endian float32, S*S*C values in [row][column][channel] order)
  --plan TEXT      token-reduction plan (default: none)
  --top K          classes to list (default 5)
  --json           print {"model", "image", "plan", "top5", "logits", "tokens" (entering each block,
                   then leaving the last), "preprocessing", "notes"}
  --evidence       also record what each reducing block decided by, per token in the block's input
                   order: "evidence": [{"layer", "method", "score" (what the score is), "tokens":
                   [{"row", "score" (null: no score of its own, e.g. ToMe's B side), "rank",
                   "partner", "outcome", "to", …}], "edges", "cutoff" | "r" | "cdf" …}], the
                   numbers the playground's why view shows for the same image

${planHelp()}`;

function readJsonFile(path: string): unknown {
  const text = new TextDecoder().decode(readFileBytes(path));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenScopeError('data-malformed', `${path} is not valid JSON (${(e as Error).message})`, { path });
  }
}

/** The checkpoint files from a directory or a single .safetensors file. */
export function readLocalCheckpoint(modelPath: string, configPath?: string): CheckpointFiles {
  if (!existsSync(modelPath))
    throw new TokenScopeError('data-missing', `${modelPath} does not exist; give a model directory or a .safetensors file`, { path: modelPath });
  if (statSync(modelPath).isDirectory()) {
    const at = (f: string) => join(modelPath, f);
    const cfg = configPath ?? (existsSync(at('config.json')) ? at('config.json') : undefined);
    return {
      safetensors: readFileBytes(at('model.safetensors'), 'a model directory needs model.safetensors (config.json and preprocessor_config.json are optional)'),
      config: cfg ? readJsonFile(cfg) : undefined,
      preprocessor: existsSync(at('preprocessor_config.json')) ? readJsonFile(at('preprocessor_config.json')) : undefined,
    };
  }
  if (extname(modelPath).toLowerCase() !== '.safetensors') {
    throw new TokenScopeError('data-malformed', `${modelPath} is not a .safetensors file; pickled PyTorch checkpoints (.bin, .pth) are not read, for safety`, {
      path: modelPath,
    });
  }
  return { safetensors: readFileBytes(modelPath), config: configPath ? readJsonFile(configPath) : undefined };
}

/** Parses a .npy file of float32 or float64 values (C order) into float32 and its shape. */
export function parseNpy(bytes: Uint8Array, source: string): { shape: number[]; data: Float32Array } {
  const bad = (why: string): never => {
    throw new TokenScopeError('image-unreadable', `${source}: ${why}`);
  };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) bad('not a .npy file (no \\x93NUMPY magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.length) bad('header runs past the end of the file');
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) bad(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  if (fortran === 'True') bad('Fortran-ordered arrays are not read; save with C order');
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`shape (${shapeText}) is not a list of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = descr === '<f4' ? 4 : descr === '<f8' ? 8 : bad(`dtype ${descr} is not read; use little-endian float32 (<f4) or float64 (<f8)`);
  if (bytes.length - start !== count * width) bad(`shape (${shapeText}) needs ${count * width} data bytes, the file has ${bytes.length - start}`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = width === 4 ? view.getFloat32(start + 4 * i, true) : view.getFloat64(start + 8 * i, true);
  return { shape, data };
}

/** Normalised model input [S, S, C] from the image file, and the steps taken (in words). */
const IMAGE_FORMATS: Record<string, string> = { '.png': 'PNG', '.jpg': 'JPEG', '.jpeg': 'JPEG', '.webp': 'WebP' };

async function readImage(path: string, loaded: LoadedCheckpoint): Promise<{ pixels: Float32Array; steps: string[] }> {
  const { image_size: S, num_channels: C } = loaded.config;
  const ext = extname(path).toLowerCase();
  const bytes = readFileBytes(path, 'give a .png, .jpg, .webp, .npy or .bin file');
  if (IMAGE_FORMATS[ext]) {
    const image = await decodeImageBytes(bytes, path);
    const { pixels, steps } = preprocessImage(image, loaded.preprocess);
    return {
      pixels,
      steps: [
        `decode ${IMAGE_FORMATS[ext]} ${image.width}×${image.height}, ${image.channels} channel${image.channels === 1 ? '' : 's'}`,
        ...steps.map(describeStep),
      ],
    };
  }
  if (ext === '.npy' || ext === '.bin') {
    let data: Float32Array;
    let shape: number[];
    if (ext === '.npy') {
      ({ data, shape } = parseNpy(bytes, path));
    } else {
      if (bytes.length % 4 !== 0) throw new TokenScopeError('image-unreadable', `${path} is ${bytes.length} bytes, not a whole number of float32 values`);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      data = Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
      shape = [data.length];
    }
    if (data.length !== S * S * C) {
      throw new TokenScopeError(
        'shape-mismatch',
        `${path} holds ${data.length} values (shape [${shape}]); the model reads ${S}×${S}×${C} = ${S * S * C} normalised values in [row][column][channel] order`,
      );
    }
    if (!data.every(Number.isFinite)) throw new TokenScopeError('image-unreadable', `${path} holds NaN or infinite values`);
    return { pixels: data, steps: [`read ${S}×${S}×${C} normalised values from ${ext}: used as is (no preprocessing)`] };
  }
  throw new TokenScopeError('image-unreadable', `${path}: predict reads .png, .jpg, .webp, .npy and .bin images; convert ${ext || 'this file'} to PNG first`);
}

export interface Prediction {
  label: string;
  index: number;
  prob: number;
}

/** Softmax in float64 and the k most probable classes (ties: lower index first). */
export function topK(logits: readonly number[], id2label: Record<string, string>, k: number): Prediction[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const z = exps.reduce((a, b) => a + b, 0);
  return exps
    .map((e, index) => ({ label: id2label[String(index)] ?? `class ${index}`, index, prob: e / z }))
    .sort((a, b) => b.prob - a.prob || a.index - b.index)
    .slice(0, k);
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      config: { type: 'string' },
      image: { type: 'string' },
      plan: { type: 'string', default: 'none' },
      top: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      evidence: { type: 'boolean', default: false },
    },
  });
  if (!values.model || !values.image) throw new TokenScopeError('param-out-of-range', 'predict needs --model and --image; see tokenscope predict --help');
  const k = Number(values.top);
  if (!Number.isInteger(k) || k < 1) throw new TokenScopeError('param-out-of-range', `--top ${values.top} must be a positive integer; try 5`);

  await useBackend('wasm');
  const loaded = loadCheckpoint(readLocalCheckpoint(values.model, values.config));
  try {
    const { config } = loaded;
    const compiled = compilePlan(planFromText(values.plan!, config.num_hidden_layers), config);
    const { pixels, steps } = await readImage(values.image, loaded);
    const x = tf.tensor4d(pixels, [1, config.image_size, config.image_size, config.num_channels]);
    let logits: number[];
    let tokens: number[];
    let evidence: EvidenceRecord[] | undefined;
    try {
      const out = await runForward(loaded.model, x, compiled, { record: values.evidence ? 'evidence' : 'none' });
      logits = Array.from(await out.logits.data());
      out.logits.dispose();
      tokens = traceCounts(out.traces[0]);
      if (values.evidence) evidence = evidenceRecords(out.traces[0].layers);
    } finally {
      x.dispose();
    }
    const top = topK(logits, config.id2label, Math.min(k, numLabels(config)));
    if (values.json) {
      console.log(
        JSON.stringify({
          model: values.model,
          image: values.image,
          plan: values.plan,
          layout: loaded.layout,
          config_source: loaded.configSource,
          top5: top,
          logits,
          tokens,
          preprocessing: steps,
          notes: loaded.notes,
          ...(evidence ? { evidence } : {}),
        }),
      );
      return 0;
    }
    console.log(`${values.model} (${loaded.layout}, ${config.num_hidden_layers} blocks × ${config.hidden_size}, ${config.image_size} px)  plan: ${values.plan}`);
    for (const step of steps) console.log(`  · ${step}`);
    console.log('rank  prob      index  label');
    top.forEach((p, i) => console.log(`${String(i + 1).padStart(4)}  ${(100 * p.prob).toFixed(2).padStart(6)}%  ${String(p.index).padStart(5)}  ${p.label}`));
    console.log(logits.length <= 20 ? `logits: [${logits.map((v) => v.toPrecision(6)).join(', ')}]` : `logits: ${logits.length} values (--json prints them all)`);
    for (const note of loaded.notes) console.log(`note: ${note}`);
    for (const e of evidence ?? []) console.log(evidenceLine(e));
    return 0;
  } finally {
    disposeCheckpoint(loaded);
  }
}

/** One block's evidence in a line: what decided, and its headline numbers. */
function evidenceLine(e: EvidenceRecord): string {
  if (e.idle) return `block ${e.layer} ${e.method}: nothing decided (${e.idle})`;
  const scored = e.tokens.filter((t) => t.score !== null).length;
  const head = `block ${e.layer} ${e.method}: ${e.score} of ${scored} tokens`;
  if (e.cutoff !== undefined) return `${head}; cut-off ${e.cutoff?.toPrecision(4)}`;
  if (e.cdf) return `${head}; ${e.cdf.ys.length} draws, ${e.cdf.duplicates} duplicates, ${e.cdf.kept} tokens kept`;
  return `${head}; r = ${e.r}, ${e.edges.filter((x) => x.chosen).length} edges taken of ${e.edges.length}`;
}

export const predictCommand: Command = {
  summary: 'top-5 classes and logits of one image with a pretrained ViT/DeiT checkpoint',
  help,
  run,
};
