import { describe, expect, it, vi } from 'vitest';
import { createStore } from './store';

describe('createStore', () => {
  it('set merges a patch and notifies subscribers', () => {
    const store = createStore({ a: 1, b: 'x' });
    const listener = vi.fn();
    store.subscribe(listener);
    store.set({ a: 2 });
    expect(store.get()).toEqual({ a: 2, b: 'x' });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('set with equal values notifies no one', () => {
    const store = createStore({ a: 1 });
    const listener = vi.fn();
    store.subscribe(listener);
    store.set({ a: 1 });
    expect(listener).not.toHaveBeenCalled();
  });

  it('subscribe returns a function that stops notifications', () => {
    const store = createStore({ a: 1 });
    const listener = vi.fn();
    const stop = store.subscribe(listener);
    stop();
    store.set({ a: 3 });
    expect(listener).not.toHaveBeenCalled();
  });
});
