/**
 * The lesson fields of the playground's link: `lesson=<id>` (or `index`), `step=<n>` (1-based) and
 * `present=1` for the presenter layout. Only known lesson ids are read; the step is checked against
 * the lesson's length when the lesson starts.
 */
import type { UrlField } from '../state/url-codec';
import { LESSONS } from './lessons';
import { COMPARE_LESSONS } from './pareto';

export const lessonField: UrlField<string | null> = {
  key: 'lesson',
  label: 'lesson',
  default: () => null,
  parse: (raw) =>
    raw === 'index' || LESSONS.some((l) => l.id === raw)
      ? { ok: true, value: raw }
      : COMPARE_LESSONS.some((l) => l.id === raw)
        ? { ok: false, reason: `a lesson of the compare page: open compare.html?lesson=${raw}` }
        : { ok: false, reason: `not a lesson; the lessons are ${LESSONS.map((l) => l.id).join(', ')}` },
  format: (v) => v ?? '',
  fallback: 'The list of lessons is shown instead.',
};

export const stepField: UrlField<number> = {
  key: 'step',
  label: 'lesson step',
  default: () => 1,
  parse: (raw) => (/^\d{1,2}$/.test(raw) && Number(raw) >= 1 ? { ok: true, value: Number(raw) } : { ok: false, reason: 'not a step number (1, 2, …)' }),
  format: String,
};

export const presentField: UrlField<boolean> = {
  key: 'present',
  label: 'presenter layout',
  default: () => false,
  parse: (raw) => (raw === '1' || raw === '0' ? { ok: true, value: raw === '1' } : { ok: false, reason: 'use present=1 or present=0' }),
  format: (v) => (v ? '1' : '0'),
};
