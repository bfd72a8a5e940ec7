/**
 * A framework-free store: get, set, subscribe. Setting values equal to the current ones notifies
 * no one. React reads it through `useStore` (use-store.ts); the URL follows it through `syncUrl`.
 */
export interface Store<T extends object> {
  get(): T;
  set(patch: Partial<T>): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<T extends object>(initial: T): Store<T> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(patch) {
      const changed = (Object.keys(patch) as (keyof T)[]).some((k) => !Object.is(patch[k], state[k]));
      if (!changed) return;
      state = { ...state, ...patch };
      for (const l of [...listeners]) l();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * Writes `format(state)` into the address bar (history.replaceState, debounced) whenever the store
 * changes. Returns the unsubscribe function.
 */
export function syncUrl<T extends object>(store: Store<T>, format: (state: T) => string, { delayMs = 150 } = {}): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = () => {
    const query = format(store.get());
    const next = `${location.pathname}${query}${location.hash}`;
    if (next !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, '', next);
  };
  const unsubscribe = store.subscribe(() => {
    clearTimeout(timer);
    timer = setTimeout(write, delayMs);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}
