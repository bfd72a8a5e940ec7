/**
 * How we start Debian's headless Chromium (the flags found to work on a headless Debian machine): WebGPU on the software adapter needs
 * --enable-unsafe-webgpu and --enable-unsafe-swiftshader; the rest keeps it off the closed network.
 * Shared by `tokenscope bench --browser` and the browser tests.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
