/**
 * Colours, one meaning each, shared by every view. Fates use the Okabe–Ito palette; merged groups
 * use Paul Tol's "light" scheme (pale enough to keep the image readable under them); methods use
 * Paul Tol's "bright" scheme. All three were designed to stay distinguishable with colour-vision
 * deficiencies; shape cues (outline, hatch, dimming) carry the same meaning without colour.
 */
import { interpolateViridis } from 'd3';
import type { MethodId } from '../reduce/types';
import type { DisplayFate } from './fates';

/** Okabe & Ito (2008), "Color Universal Design". */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

export const FATE_COLOUR: Readonly<Record<DisplayFate, string>> = {
  kept: OKABE_ITO.blue,
  merged: OKABE_ITO.orange,
  fused: OKABE_ITO.vermillion,
  sampled: OKABE_ITO.bluishGreen,
  dropped: OKABE_ITO.black,
};

export const FATE_LABEL: Readonly<Record<DisplayFate, string>> = {
  kept: 'kept',
  merged: 'merged (one colour per group)',
  fused: "fused into EViT's summary token",
  sampled: 'sampled by ATS',
  dropped: 'dropped',
};

/** How each fate is drawn, without relying on colour alone. */
export const FATE_MARK: Readonly<Record<DisplayFate, string>> = {
  kept: 'thin outline',
  merged: 'tinted, group outline',
  fused: 'hatched',
  sampled: 'green inner ring',
  dropped: 'dimmed',
};

/** Paul Tol's "light" qualitative scheme: merged groups. */
export const GROUP_COLOURS: readonly string[] = ['#77AADD', '#99DDFF', '#44BB99', '#BBCC33', '#AAAA00', '#EEDD88', '#EE8866', '#FFAABB'];

/** Paul Tol's "bright" qualitative scheme: methods in the timeline and the legend. */
export const METHOD_COLOUR: Readonly<Record<MethodId, string>> = {
  tome: '#4477AA',
  pitome: '#66CCEE',
  evit: '#228833',
  topk: '#CCBB44',
  ats: '#EE6677',
  mctf: '#AA3377',
  // beyond the seven of "bright": Paul Tol's "vibrant" orange and teal (each method also has its own mark shape)
  diffrate: '#EE7733',
  atc: '#009988',
  ppt: '#CC3311',
  // Paul Tol's "muted" indigo: dark, apart from every blue above
  gtp: '#332288',
};

/** Series in the charts: the plan against the unreduced model. */
export const SERIES_COLOUR = { plan: OKABE_ITO.vermillion, baseline: '#777777' } as const;

/** `#rrggbb` with an alpha in 0..1, for canvas fills. */
export function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * The why view: a method's score as viridis (perceptually uniform, readable with every common
 * colour-vision deficiency and in grey), the edges a decision took in vermillion over faint grey
 * for the rest, PiToMe's protected set in blue, ATS's draws in bluish green.
 */
export const SCORE_INTERPOLATOR = interpolateViridis;
export const DECISION_COLOUR = {
  chosenEdge: OKABE_ITO.vermillion,
  otherEdge: '#888888',
  protected: OKABE_ITO.blue,
  draw: OKABE_ITO.bluishGreen,
  cutoff: OKABE_ITO.black,
  /** What a lesson step points at (outlines and edges, drawn thicker than the rest). */
  highlight: OKABE_ITO.reddishPurple,
} as const;
