/**
 * What the model actually reads: the preprocessed image (8-bit, before normalisation) with the
 * patch grid over it, and each preprocessing step marked as run or skipped.
 */
import { useEffect, useRef } from 'react';
import type { ModelInput } from '../image/preprocess';

interface Props {
  input: ModelInput;
  image: HTMLCanvasElement | null;
  patch: number;
  sourceName: string;
  browserStep: string | null;
}

const SIDE = 168;

export function ModelInputView({ input, image, patch, sourceName, browserStep }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx || !image) return;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, SIDE, SIDE);
    ctx.drawImage(image, 0, 0, SIDE, SIDE);
  }, [image]);
  const grid = input.size / patch;
  const cell = SIDE / grid;
  return (
    <section className="panel model-input" aria-labelledby="input-title">
      <h2 id="input-title">Model input</h2>
      <div className="input-row">
        <div className="fate-grid" style={{ width: SIDE, height: SIDE }}>
          <canvas
            ref={ref}
            width={SIDE}
            height={SIDE}
            data-testid="model-input"
            aria-label={`${sourceName} as the model reads it: ${input.size}×${input.size}`}
            role="img"
          />
          <svg width={SIDE} height={SIDE} aria-hidden="true">
            {Array.from({ length: grid - 1 }, (_, i) => (
              <g key={i} className="patch-lines">
                <line x1={(i + 1) * cell} x2={(i + 1) * cell} y1={0} y2={SIDE} />
                <line y1={(i + 1) * cell} y2={(i + 1) * cell} x1={0} x2={SIDE} />
              </g>
            ))}
          </svg>
        </div>
        <div>
          <p>
            <strong>{sourceName}</strong> → {input.size}×{input.size}×{input.channels}, {grid}×{grid} patches of {patch}×{patch} px (+ the class token)
          </p>
          <ol className="steps" data-testid="preprocess-steps">
            {browserStep && <li className="ran">{browserStep}</li>}
            {input.steps.map((s, i) => (
              <li key={`${s.op}-${i}`} className={s.ran ? 'ran' : 'skipped'}>
                <span className="step-mark" aria-label={s.ran ? 'ran' : 'skipped'}>
                  {s.ran ? '✓' : '–'}
                </span>{' '}
                {s.detail}
              </li>
            ))}
          </ol>
        </div>
      </div>
    </section>
  );
}
