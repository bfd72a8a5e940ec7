/**
 * The lessons, one per idea. Block numbers and merge counts follow the model in use (its depth and
 * token count), so a lesson reads the same on the bundled 7×7 model and on a 14×14 DeiT. Numbers
 * in the text are `{slots}` filled live from the current run (live.ts).
 */
import type { Lesson, ModelShape } from './types';

const quarter = (m: ModelShape) => Math.max(0, Math.floor(m.depth / 4));
const middle = (m: ModelShape) => Math.floor(m.depth / 2);
const last = (m: ModelShape) => m.depth - 1;
/** ToMe's r that takes about half the tokens away over the whole model. */
const halfR = (m: ModelShape) => Math.max(1, Math.round(m.tokens / (2 * m.depth)));

const SNEAKER = { grey: 'fm-sneaker', rgb: 'chelsea' };
const BAG = { grey: 'fm-bag', rgb: 'coffee' };

export const LESSONS: readonly Lesson[] = [
  {
    id: 'tokens',
    title: 'Tokens and their cost',
    summary: 'Patches, the class token, and why attention’s cost grows with the square of the token count.',
    needs: 'any model; no reduction until the last step',
    steps: [
      {
        title: 'An image becomes tokens',
        text: 'The model cuts the image into a {grid}×{grid} grid of patches: {patches} patch tokens. A class token joins them, so every block of {model} works on {tokens} tokens.',
        formula: 'N = \\left(\\tfrac{S}{p}\\right)^2 + 1',
        plan: () => 'none',
        layer: () => 0,
        sample: SNEAKER,
      },
      {
        title: 'Every block sees every token',
        text: 'Without reduction, block {layer} still carries {tokens-in} tokens in and {tokens-out} out: nothing is dropped. The whole forward pass costs {gflops} GFLOPs.',
        plan: () => 'none',
        layer: middle,
        tryIt: { kind: 'blocks', label: 'Step through the blocks: the count never changes.' },
      },
      {
        title: 'Attention is quadratic',
        text: 'Attention compares every token with every other: two N×N products. In block {layer} they are {attn-share} of the block’s FLOPs; the rest (projections, MLP) grows only linearly with N.',
        formula: '\\text{FLOPs}_{\\text{attn}} = 2N^2D \\qquad \\text{FLOPs}_{\\text{linear}} = 12ND^2',
        plan: () => 'none',
        layer: middle,
      },
      {
        title: 'Fewer tokens, fewer FLOPs',
        text: 'Now ToMe merges {removed} tokens in block {layer}: {tokens-in} go in, {tokens-out} come out. The model costs {gflops} GFLOPs, {gflops-percent} of the unreduced {gflops-base}.',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: middle,
        tryIt: { kind: 'param', method: 'tome', param: 'r', label: 'Change r, the merges per block, and watch the cost.' },
      },
    ],
  },
  {
    id: 'pruning',
    title: 'Pruning by attention: top-k and EViT',
    summary: 'The class token’s attention decides which patches stay; EViT fuses the rest into one token.',
    needs: 'any model',
    steps: [
      {
        title: 'What the class token looks at',
        text: 'Top-k keeps the patches the class token attends to most. In block {layer} the cut-off is {cutoff}: {tokens-out} of {tokens-in} tokens stay, {removed} are dropped for good.',
        formula: 'a_i = \\frac{1}{H}\\sum_h \\operatorname{softmax}\\!\\left(\\tfrac{q_{\\text{cls}} k^\\top}{\\sqrt{d}}\\right)_{h,i}',
        plan: () => 'topk',
        layer: quarter,
        sample: SNEAKER,
      },
      {
        title: 'Predict: which patches survive?',
        text: 'Before looking: mark the patches you expect top-k to keep after block {layer} ({tokens-out} tokens stay, the class token included). Then reveal.',
        plan: () => 'topk',
        layer: quarter,
        predict: { fate: 'kept', question: 'Which patches are still their own token after this block?' },
      },
      {
        title: 'EViT keeps what it drops, in one token',
        text: 'EViT drops the same patches but fuses them into one extra token, weighted by their attention. Block {layer}: {tokens-in} in, {tokens-out} out, the fused token included.',
        formula: 'x_{\\text{fused}} = \\frac{\\sum_{i \\notin K} a_i x_i}{\\sum_{i \\notin K} a_i}',
        plan: () => 'evit',
        layer: quarter,
      },
      {
        title: 'How much to keep',
        text: 'Keep less and the cost falls to {gflops-percent} of the unreduced model ({gflops} GFLOPs). Does the prediction hold? Top-1 now: {top1}; same as unreduced: {agreement}.',
        plan: () => 'evit:keep=0.5',
        layer: middle,
        tryIt: { kind: 'param', method: 'evit', param: 'keep', label: 'Slide keep, the fraction of tokens EViT keeps.' },
      },
    ],
  },
  {
    id: 'merging',
    title: 'Merging step by step: ToMe',
    summary: 'Bipartite soft matching on this image: the A/B split, best partners, the r best edges, size-weighted means.',
    needs: 'any model',
    steps: [
      {
        title: 'Two sets, one best partner each',
        text: 'ToMe splits the {tokens-in} tokens of block {layer} into alternating sets A and B. Every A token finds its most similar B token by the cosine of their keys.',
        formula: 's_{ij} = \\frac{k_i \\cdot k_j}{\\lVert k_i\\rVert\\,\\lVert k_j\\rVert}, \\quad i \\in A,\\ j \\in B',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: quarter,
        sample: SNEAKER,
      },
      {
        title: 'Only the r best edges merge',
        text: 'Of all those edges only the r = {r} most similar are taken: {tokens-in} tokens in, {tokens-out} out. The why view below draws the taken edges in bold.',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: quarter,
        tryIt: { kind: 'param', method: 'tome', param: 'r', label: 'Change r and watch how many edges are taken.' },
      },
      {
        title: 'Predict: what merges?',
        text: 'Mark the patches you expect to share a token with others after block {layer}. Similar neighbours (the background) are the usual candidates.',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: middle,
        predict: { fate: 'merged', question: 'Which patches have been merged with others by this block?' },
      },
      {
        title: 'Size-weighted means and proportional attention',
        text: 'A merged token is the mean of its patches weighted by their sizes, and attention adds log(size) so it still counts for all of them. After block {layer}, {tokens-out} tokens stand for {patches} patches.',
        formula: 'x = \\frac{\\sum_i s_i x_i}{\\sum_i s_i} \\qquad \\operatorname{softmax}\\!\\left(\\tfrac{QK^\\top}{\\sqrt{d}} + \\log s\\right)',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: last,
      },
    ],
  },
  {
    id: 'pitome',
    title: 'PiToMe: protect what is unique',
    summary: 'An energy score finds tokens like many others; the distinctive ones are protected from merging.',
    needs: 'any model',
    steps: [
      {
        title: 'Energy: how alike a token is to the rest',
        text: 'PiToMe scores each token by how similar it is to all others (its energy). High-energy tokens are merged; the low-energy, distinctive ones are protected. Block {layer}: {tokens-in} in, {tokens-out} out.',
        plan: () => 'pitome',
        layer: quarter,
        sample: BAG,
      },
      {
        title: 'Predict: what stays itself?',
        text: 'Mark the patches you expect to remain unmerged after block {layer}. Small details tend to survive.',
        plan: () => 'pitome',
        layer: middle,
        predict: { fate: 'kept', question: 'Which patches are still their own token?' },
      },
      {
        title: 'How much to keep',
        text: 'The ratio sets how many tokens each block keeps: the model now costs {gflops} GFLOPs ({gflops-percent} of unreduced); top-1 is {top1}.',
        plan: () => 'pitome:ratio=0.8',
        layer: last,
        tryIt: { kind: 'param', method: 'pitome', param: 'ratio', label: 'Slide ratio, the fraction of tokens kept per block.' },
      },
    ],
  },
  {
    id: 'ats',
    title: 'ATS: a token count of its own for every image',
    summary: 'Significance scores, a CDF, evenly spaced draws, duplicates collapsing — and counts that differ by image.',
    needs: 'any model',
    steps: [
      {
        title: 'Significance, then a CDF',
        text: 'ATS scores each token by the class token’s attention times the norm of its value. Sorted and summed, the scores make a CDF; evenly spaced draws on it pick the tokens. Block {layer}: {tokens-in} in, {tokens-out} out.',
        formula: 'S_j = \\frac{a_{\\text{cls},j}\\,\\lVert v_j\\rVert}{\\sum_i a_{\\text{cls},i}\\,\\lVert v_i\\rVert}',
        plan: () => 'ats',
        layer: quarter,
        sample: SNEAKER,
      },
      {
        title: 'Duplicates collapse',
        text: 'Where one token holds much of the mass, several draws land on it and count once: {ats-duplicates} duplicate draws here, so only {tokens-out} tokens leave block {layer}.',
        plan: () => 'ats',
        layer: quarter,
      },
      {
        title: 'Predict: which tokens are sampled?',
        text: 'Mark the patches you expect ATS to keep after block {layer}.',
        plan: () => 'ats',
        layer: quarter,
        predict: { fate: 'sampled', question: 'Which patches does ATS keep at this block?' },
      },
      {
        title: 'Another image, another count',
        text: 'Choose another picture: this one leaves the last block with {tokens-final} tokens. The count is decided per image, so the cost is too: {gflops} GFLOPs here.',
        plan: () => 'ats',
        layer: last,
        sample: BAG,
        tryIt: {
          kind: 'samples',
          label: 'Try each picture and compare the final count.',
          grey: ['fm-bag', 'fm-sneaker', 'fm-dress', 'fm-coat'],
          rgb: ['coffee', 'chelsea', 'astronaut', 'rocket'],
        },
      },
    ],
  },
  {
    id: 'mctf',
    title: 'MCTF: three criteria, both directions, one step ahead',
    summary: 'Similarity, informativeness and size combined; matching both ways; the next block’s attention.',
    needs: 'any model',
    steps: [
      {
        title: 'Three criteria in one score',
        text: 'MCTF scores each pair by similarity, by how little attention the tokens get (informativeness) and by their size, multiplied. Block {layer}: {tokens-in} in, {tokens-out} out.',
        formula: 'W = W^{\\text{sim}} \\odot W^{\\text{info}} \\odot W^{\\text{size}}',
        plan: () => 'mctf',
        layer: quarter,
        sample: SNEAKER,
      },
      {
        title: 'Predict: what merges?',
        text: 'Mark the patches you expect MCTF to have merged after block {layer}.',
        plan: () => 'mctf',
        layer: middle,
        predict: { fate: 'merged', question: 'Which patches have been merged by this block?' },
      },
      {
        title: 'Cost and fidelity',
        text: 'With r tokens fused per block the model costs {gflops} GFLOPs, {gflops-percent} of unreduced, and still says {top1} (same as unreduced: {agreement}).',
        plan: () => 'mctf',
        layer: last,
        tryIt: { kind: 'param', method: 'mctf', param: 'r', label: 'Change r, the tokens fused per block.' },
      },
    ],
  },
  {
    id: 'cost',
    title: 'FLOPs, accuracy and time',
    summary: 'Why merging beats pruning off the shelf on small models, and why fewer FLOPs is not always faster.',
    needs: 'any model; the compare page for accuracy on a data set',
    steps: [
      {
        title: 'Counting FLOPs',
        text: 'FLOPs follow the fvcore convention the papers use: one multiply-add is one FLOP. This plan costs {gflops} GFLOPs against {gflops-base} unreduced ({gflops-percent}).',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: last,
      },
      {
        title: 'Same budget, different methods',
        text: 'Top-k at the same kind of budget: {gflops-percent} of the FLOPs, and the prediction is {top1} (same as unreduced: {agreement}). The compare page plots accuracy against GFLOPs for every method on a whole evaluation set.',
        plan: () => 'topk:keep=0.5',
        layer: last,
      },
      {
        title: 'A FLOP saving is not a speed-up',
        text: 'Each reducing block does its own work (matching, sorting, gathering): many small steps. Measured here: {latency} ms against {latency-base} ms unreduced on {backend}.',
        plan: (m) => `tome:r=${halfR(m)}`,
        layer: last,
      },
    ],
  },
  {
    id: 'mixing',
    title: 'Mixing methods per block',
    summary: 'One plan text: prune early, merge later, and read the result block by block.',
    needs: 'a model with at least 4 blocks',
    steps: [
      {
        title: 'One method per block',
        text: 'The plan text names a method and its blocks; segments join with +. Here block {layer} runs {method}: {tokens-in} in, {tokens-out} out.',
        plan: (m) => `evit:keep=0.7,layers=${quarter(m)}+tome:r=${halfR(m)},layers=${quarter(m) + 1}-${last(m)}`,
        layer: quarter,
        sample: SNEAKER,
      },
      {
        title: 'Merging after pruning',
        text: 'From block {layer} on ToMe merges what EViT kept. The last block hands {tokens-final} tokens to the classifier; the model costs {gflops-percent} of the unreduced FLOPs.',
        plan: (m) => `evit:keep=0.7,layers=${quarter(m)}+tome:r=${halfR(m)},layers=${quarter(m) + 1}-${last(m)}`,
        layer: (m) => quarter(m) + 1,
        tryIt: { kind: 'blocks', label: 'Step through the blocks and watch which method acts.' },
      },
    ],
  },
];

export function findLesson(id: string | null): Lesson | null {
  return LESSONS.find((l) => l.id === id) ?? null;
}
