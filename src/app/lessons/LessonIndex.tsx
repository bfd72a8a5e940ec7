/**
 * Every lesson with its length and what it needs, as links (each opens step 1; add `&present=1`
 * for the presenter layout). Shown in the playground's header and open at `?lesson=index`. The
 * compare page's lessons are plain links to that page.
 */
import { LESSONS } from './lessons';
import { COMPARE_LESSONS, compareLessonHref } from './pareto';

export function LessonIndex({ open, onOpen }: { open: boolean; onOpen(id: string): void }) {
  return (
    <details className="lesson-index" open={open || undefined}>
      <summary>Lessons: a guided tour ({LESSONS.length + COMPARE_LESSONS.length})</summary>
      <nav aria-label="Lessons" data-testid="lesson-index">
        <ol>
          {LESSONS.map((l) => (
            <li key={l.id}>
              <a
                href={`?lesson=${l.id}&step=1`}
                onClick={(e) => {
                  e.preventDefault(); // in place: the model, backend and picture stay
                  onOpen(l.id);
                }}
              >
                {l.title}
              </a>{' '}
              <span className="muted small">
                ({l.steps.length} steps; {l.needs})
              </span>
              <br />
              <span className="small">{l.summary}</span>
            </li>
          ))}
          {COMPARE_LESSONS.map((l) => (
            <li key={l.id}>
              <a href={compareLessonHref(l)}>{l.title}</a>{' '}
              <span className="muted small">
                ({l.steps.length} steps, on the compare page; {l.needs})
              </span>
              <br />
              <span className="small">{l.summary}</span>
            </li>
          ))}
        </ol>
      </nav>
    </details>
  );
}
