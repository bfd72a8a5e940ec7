/**
 * The page side of the service worker (service-worker.ts), for every page of the built site:
 * registers sw.js, and reloads the page once when a worker takes control and the page needs it —
 * the first visit on a host without COOP/COEP headers (the page is not isolated until the worker
 * serves it), or a new deploy (so the page never runs old JavaScript against new files). The
 * page's state lives in its URL, so a reload keeps it. In `npm run dev` Vite sets the headers and
 * no worker is registered.
 */
declare const __TOKENSCOPE_BUILD__: string;
declare const __TOKENSCOPE_SERVICE_WORKER__: boolean;

const RELOADED_FOR_ISOLATION = 'tokenscope-reloaded-for-isolation';

/** True the first time in this tab (and marks it); false after, or where storage throws (then no reload). */
function firstIsolationReload(): boolean {
  try {
    if (sessionStorage.getItem(RELOADED_FOR_ISOLATION) !== null) return false;
    sessionStorage.setItem(RELOADED_FOR_ISOLATION, '1');
    return true;
  } catch {
    return false;
  }
}

/** True the first time this script asks for a reload in this tab: a worker that never lists it (a misconfigured host) must not make the page loop. */
function firstReloadFor(script: string): boolean {
  const key = `tokenscope-reloaded-stale:${script}`;
  try {
    if (sessionStorage.getItem(key) !== null) return false;
    sessionStorage.setItem(key, '1');
    return true;
  } catch {
    return false;
  }
}

export function startSite(): void {
  document.documentElement.dataset.build = __TOKENSCOPE_BUILD__;
  if (!__TOKENSCOPE_SERVICE_WORKER__ || !('serviceWorker' in navigator)) return;
  const container = navigator.serviceWorker;
  const hadController = container.controller !== null;
  let reloading = false;
  const reload = () => {
    if (reloading) return;
    reloading = true;
    location.reload();
  };
  container.addEventListener('controllerchange', () => {
    // At most one reload per tab for isolation: if the worker's headers did not isolate the page
    // (a browser that ignores them), the page stays up on one thread with a note instead of looping.
    const update = hadController;
    if (!update && (self.crossOriginIsolated || !firstIsolationReload())) return;
    reload();
  });
  container.register(new URL('sw.js', document.baseURI), { updateViaCache: 'none' }).then(
    (registration) => {
      if (hadController) checkForDeploy(registration);
    },
    (e: Error) => {
      console.warn(`TokenScope works online only: its service worker did not register (${e.message}).`);
    },
  );
  if (hadController) reloadIfStale(container, reload);
}

/**
 * A new worker can take control before this script has run (the old worker served the page, the
 * browser's update check installed the new build while the page was still loading, and its
 * `controllerchange` fired before anyone listened). The page would then run old code against the
 * new build. So ask the worker in control whether this very script belongs to its build.
 */
function reloadIfStale(container: ServiceWorkerContainer, reload: () => void): void {
  const controller = container.controller;
  if (controller === null) return;
  const channel = new MessageChannel();
  channel.port1.onmessage = (event: MessageEvent<{ serves?: boolean }>) => {
    if (event.data?.serves === false && firstReloadFor(import.meta.url)) reload();
  };
  controller.postMessage({ serves: import.meta.url }, [channel.port2]);
}

/**
 * Asks the host for a new sw.js on every visit. The browser checks by itself after a navigation,
 * but its check can join an identical one already under way (say, a failed install of a deploy that
 * was half-finished a moment ago) and is then lost with it. `register` resolves only once the
 * jobs queued before it are done, so this check starts afresh and finds a deploy finished since.
 */
function checkForDeploy(registration: ServiceWorkerRegistration): void {
  registration.update().catch(() => undefined); // offline or host down: the next visit checks again
}
