/**
 * Predict, then reveal: the student marks patches on the model's input, then Reveal lays the truth
 * (the fates of the selected block, from the trace) over the guess and scores it. Until Reveal the
 * page holds no answer: the App hides the token and why views while a prediction is open.
 */
import { useEffect, useRef, useState } from 'react';
import type { GridGeometry, LayerView } from '../fates';
import type { PredictTask } from './types';

export interface PredictScore {
  hits: number;
  misses: number;
  extra: number;
  iou: number;
}

/** Which patches (row-major) have the task's fate in this view: the truth a guess is scored against. */
export function predictTruth(view: LayerView, geo: GridGeometry, fate: PredictTask['fate']): boolean[] {
  return Array.from({ length: geo.grid * geo.grid }, (_, p) => {
    const f = view.fate[geo.firstPatch + p];
    return fate === 'kept' ? f === 'kept' || f === 'sampled' : f === fate;
  });
}

export function scorePrediction(guess: readonly boolean[], truth: readonly boolean[]): PredictScore {
  let hits = 0;
  let misses = 0;
  let extra = 0;
  truth.forEach((t, i) => {
    if (t && guess[i]) hits++;
    else if (t) misses++;
    else if (guess[i]) extra++;
  });
  const union = hits + misses + extra;
  return { hits, misses, extra, iou: union === 0 ? 1 : hits / union };
}

interface Props {
  task: PredictTask;
  image: HTMLCanvasElement;
  geo: GridGeometry;
  /** The answer; read only when the student reveals it. */
  answer: () => boolean[];
  revealed: boolean;
  onReveal(): void;
}

const SIDE = 336;

export function PredictGrid({ task, image, geo, answer, revealed, onReveal }: Props) {
  const [guess, setGuess] = useState<boolean[]>(() => new Array(geo.grid * geo.grid).fill(false));
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0, SIDE, SIDE);
  }, [image]);
  const truth = revealed ? answer() : null;
  const score = truth ? scorePrediction(guess, truth) : null;
  const cell = SIDE / geo.grid;
  const toggle = (p: number) => !revealed && setGuess((g) => g.map((v, i) => (i === p ? !v : v)));
  return (
    <div className="predict" data-testid="predict">
      <p className="predict-question">
        {task.question} Click patches to mark them ({guess.filter(Boolean).length} marked).
      </p>
      <div className="predict-grid" style={{ width: SIDE, height: SIDE }}>
        <canvas ref={canvas} width={SIDE} height={SIDE} aria-hidden="true" />
        <div className="predict-cells" role="group" aria-label="Patches: press to mark your guess" style={{ gridTemplateColumns: `repeat(${geo.grid}, ${cell}px)` }}>
          {guess.map((g, p) => {
            const t = truth?.[p];
            const cls = ['predict-cell', g ? 'guessed' : '', t ? 'truth' : '', truth && g && !t ? 'wrong' : ''].filter(Boolean).join(' ');
            return (
              <button
                key={p}
                type="button"
                className={cls}
                style={{ width: cell, height: cell }}
                aria-pressed={g}
                aria-label={`Patch row ${Math.floor(p / geo.grid) + 1}, column ${(p % geo.grid) + 1}${truth ? (t ? ': yes' : ': no') : ''}`}
                data-testid={`predict-cell-${p}`}
                onClick={() => toggle(p)}
              />
            );
          })}
        </div>
      </div>
      {!revealed ? (
        <button type="button" onClick={onReveal} data-testid="predict-reveal">
          Reveal
        </button>
      ) : (
        score && (
          <p role="status" data-testid="predict-score" data-hits={score.hits} data-misses={score.misses} data-extra={score.extra} data-iou={score.iou.toFixed(3)}>
            You marked {score.hits} of the {score.hits + score.misses} right patches, missed {score.misses} and marked {score.extra} that were not: IoU{' '}
            {score.iou.toFixed(2)}. Outlined: the truth; a cross: a wrong mark.
          </p>
        )
      )}
    </div>
  );
}
