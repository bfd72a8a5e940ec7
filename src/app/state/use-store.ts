/** React's view of a Store: a component re-renders only when its selected slice changes. */
import { useSyncExternalStore } from 'react';
import type { Store } from './store';

export function useStore<T extends object, U>(store: Store<T>, select: (state: T) => U): U {
  return useSyncExternalStore(store.subscribe, () => select(store.get()));
}
