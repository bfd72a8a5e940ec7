/**
 * What the playground's and the compare page's lesson panels share: a step's text with every number
 * in its own live element, a typeset formula, the ←/→ (and space) keys, and the sentence the live
 * region announces.
 */
import katex from 'katex';
import 'katex/dist/katex.min.css';
import { useEffect, useMemo } from 'react';
import { PLAY_EVENT } from '../views/TokenView';
import { splitSlots } from './live';

export function Formula({ tex }: { tex: string }) {
  // Our own constant TeX (lessons.ts), never user input; KaTeX escapes what it renders.
  const html = useMemo(() => katex.renderToString(tex, { displayMode: true, throwOnError: false, output: 'htmlAndMathml' }), [tex]);
  return <div className="lesson-formula" dangerouslySetInnerHTML={{ __html: html }} />;
}

export function StepText({ text, live }: { text: string; live: Record<string, string> | null }) {
  return (
    <p data-testid="lesson-text">
      {splitSlots(text).map((part, i) =>
        'text' in part ? (
          <span key={i}>{part.text}</span>
        ) : (
          <strong key={i} className="lesson-live" data-testid="lesson-live" data-name={part.slot}>
            {live?.[part.slot] ?? '…'}
          </strong>
        ),
      )}
    </p>
  );
}

/** ←/→ move between steps from anywhere but a text field; space plays the block animation. */
export function useStepKeys(step: number, n: number, onStep: (step: number) => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
      if (e.key === 'ArrowRight' && step < n - 1) onStep(step + 1);
      else if (e.key === 'ArrowLeft' && step > 0) onStep(step - 1);
      else if (e.key === ' ' && (!target || target === document.body)) window.dispatchEvent(new Event(PLAY_EVENT));
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [step, n, onStep]);
}

/** The step's text with its live numbers filled in, for the live region; empty until they exist. */
export function announcement(text: string, live: Record<string, string> | null): string {
  return live
    ? splitSlots(text)
        .map((p) => ('text' in p ? p.text : (live[p.slot] ?? '…')))
        .join('')
    : '';
}
