/**
 * Names of software renderers (SwiftShader, llvmpipe, Microsoft's Basic Render Driver, ...), as a
 * WebGPU adapter or WebGL renderer reports them: their "GPU" programs run on CPU cores. No imports,
 * so the page can test a name without loading TF.js.
 */
export const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i;
