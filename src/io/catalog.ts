/**
 * Pretrained checkpoints the UI offers for download, as data. Each entry is a Hugging Face hub
 * repository holding model.safetensors and config.json (and preprocessor_config.json where the
 * repository has one); hub.ts downloads them from
 *
 *   https://huggingface.co/<repo>/resolve/<revision>/<file>
 *
 * Sizes are the model.safetensors file in MB (10^6 bytes), as the hub lists it. Accuracy is the
 * published ImageNet-1k validation top-1 at 224 px, with its source; our own evaluation never
 * appears here.
 */

/** A hub repository at a revision: what a download and a link need. */
export interface HubModelRef {
  /** Hub repository, `owner/name`. */
  repo: string;
  /** Branch, tag or commit the files are read at. */
  revision: string;
  /** The repository may have a preprocessor_config.json (Hugging Face image processor). */
  hasPreprocessor: boolean;
}

export interface CatalogEntry extends HubModelRef {
  /** Short name for the menu. */
  title: string;
  /** One line: what it is and where the weights come from. */
  description: string;
  /** Size of model.safetensors in MB. */
  sizeMb: number;
  /** Parameters, millions. */
  paramsM: number;
  /** Published ImageNet-1k top-1 (%), and where it is published. */
  top1: number;
  top1Source: string;
  license: string;
}

export const HUB_BASE_URL = 'https://huggingface.co';

export const CATALOG: readonly CatalogEntry[] = [
  {
    repo: 'timm/deit_tiny_patch16_224.fb_in1k',
    revision: 'main',
    title: 'DeiT-Tiny',
    description: 'DeiT-Tiny/16 (192 wide, 3 heads, 12 blocks), trained on ImageNet-1k by the DeiT authors; timm layout.',
    sizeMb: 22.9,
    paramsM: 5.7,
    top1: 72.2,
    top1Source: 'DeiT paper (Touvron et al. 2021), Table 1; baseline row of the MCTF README (docs/METHODS.md#baselines)',
    license: 'apache-2.0',
    hasPreprocessor: false,
  },
  {
    repo: 'timm/deit_small_patch16_224.fb_in1k',
    revision: 'main',
    title: 'DeiT-Small',
    description: 'DeiT-Small/16 (384 wide, 6 heads, 12 blocks), trained on ImageNet-1k by the DeiT authors; timm layout.',
    sizeMb: 88.2,
    paramsM: 22.1,
    top1: 79.8,
    top1Source: 'DeiT paper (Touvron et al. 2021), Table 1; baseline row of the MCTF and EViT READMEs (docs/METHODS.md#baselines)',
    license: 'apache-2.0',
    hasPreprocessor: false,
  },
  {
    repo: 'timm/deit_tiny_distilled_patch16_224.fb_in1k',
    revision: 'main',
    title: 'DeiT-Tiny distilled',
    description: 'DeiT-Tiny/16 with a distillation token and a second head (predictions average both); timm layout.',
    sizeMb: 23.7,
    paramsM: 5.9,
    top1: 74.5,
    top1Source: 'DeiT paper (Touvron et al. 2021), Table 1 (DeiT-Ti⚗, 224 px)',
    license: 'apache-2.0',
    hasPreprocessor: false,
  },
  {
    repo: 'WinKawaks/vit-tiny-patch16-224',
    revision: 'main',
    title: 'ViT-Tiny (AugReg)',
    description: "ViT-Ti/16 AugReg (ImageNet-21k, fine-tuned on ImageNet-1k) converted from timm to Hugging Face's ViT layout.",
    sizeMb: 22.9,
    paramsM: 5.7,
    top1: 75.5,
    top1Source: "timm's ImageNet results for vit_tiny_patch16_224.augreg_in21k_ft_in1k, the weights this repository converts",
    license: 'apache-2.0',
    hasPreprocessor: true,
  },
  {
    repo: 'WinKawaks/vit-small-patch16-224',
    revision: 'main',
    title: 'ViT-Small (AugReg)',
    description: "ViT-S/16 AugReg (ImageNet-21k, fine-tuned on ImageNet-1k) converted from timm to Hugging Face's ViT layout.",
    sizeMb: 88.2,
    paramsM: 22.1,
    top1: 81.4,
    top1Source: 'ToMe README, off-the-shelf timm AugReg ViT-S/16 baseline 81.41 % (docs/METHODS.md#tome)',
    license: 'apache-2.0',
    hasPreprocessor: true,
  },
];

/** `https://huggingface.co/<repo>/resolve/<revision>/<file>` (or under another base, for tests). */
export function hubFileUrl(repo: string, revision: string, file: string, base: string = HUB_BASE_URL): string {
  const path = repo.split('/').map(encodeURIComponent).join('/');
  return `${base.replace(/\/+$/, '')}/${path}/resolve/${encodeURIComponent(revision)}/${encodeURIComponent(file)}`;
}

export interface CatalogUrls {
  safetensors: string;
  config: string;
  preprocessor?: string;
}

export function catalogUrls(entry: HubModelRef, base: string = HUB_BASE_URL): CatalogUrls {
  const url = (file: string) => hubFileUrl(entry.repo, entry.revision, file, base);
  return {
    safetensors: url('model.safetensors'),
    config: url('config.json'),
    ...(entry.hasPreprocessor ? { preprocessor: url('preprocessor_config.json') } : {}),
  };
}

export function findCatalogEntry(repo: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.repo === repo);
}

/** `owner/name` or `owner/name@revision`, as the hub spells them (letters, digits, '-', '_', '.'). */
const HUB_ID = /^([A-Za-z0-9][\w.-]{0,95})\/([A-Za-z0-9][\w.-]{0,95})(?:@([\w.\-/]{1,100}))?$/;

/**
 * Reads a hub model id as a link or a text field gives it. A catalog repository keeps what the
 * catalog knows of it; any other repository is asked for an optional preprocessor_config.json.
 * Returns null for anything that is not an id (never a URL, never a path).
 */
export function parseHubId(text: string): HubModelRef | null {
  const m = HUB_ID.exec(text.trim());
  if (!m || m[0].includes('..')) return null;
  const repo = `${m[1]}/${m[2]}`;
  const known = findCatalogEntry(repo);
  return { repo, revision: m[3] ?? known?.revision ?? 'main', hasPreprocessor: known?.hasPreprocessor ?? true };
}

/** The id a link carries: `owner/name`, with `@revision` unless it is `main`. */
export const formatHubId = (ref: Pick<HubModelRef, 'repo' | 'revision'>) => (ref.revision === 'main' ? ref.repo : `${ref.repo}@${ref.revision}`);
