/**
 * Bit-exact conversions between float32 and the two 16-bit float formats safetensors stores.
 *
 *   F16  (IEEE 754 binary16): 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 *   BF16 (bfloat16):          1 sign bit, 8 exponent bits (bias 127), 7 mantissa bits,
 *                             i.e. the upper half of a float32.
 *
 * Widening (16 → 32) is exact for every input, subnormals, infinities and NaN payloads included.
 * Narrowing (32 → 16) rounds to nearest, ties to even; F16 overflows to ±Infinity and underflows
 * through its subnormals to ±0. NaN stays NaN (quiet, sign kept).
 *
 * Every function works on raw bit patterns (numbers holding u16 / u32 values), so callers can read
 * and write through Uint16Array / Uint32Array views without NaN canonicalisation.
 */

/** float32 bits (u32) for the F16 bits `h` (u16). Exact. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf or NaN, payload kept
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal: mant · 2^-24. Normalise: shift the leading 1 up to bit 10.
  let e = -14;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e -= 1;
  }
  return (sign | ((e + 127) << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** F16 bits (u16) for the float32 bits `f` (u32), rounding to nearest even. */
export function f32BitsToF16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // Inf / quiet NaN
  const e = exp - 127; // unbiased; float32 subnormals (exp 0) land far below F16's range
  if (e > 15) return sign | 0x7c00; // |x| ≥ 65536: overflow
  if (e >= -14) {
    // F16 normal: drop 13 mantissa bits. A carry out of the mantissa bumps the exponent,
    // and out of exponent 30 it yields 0x7c00 (Infinity), which is the correct rounding.
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal (2^-25): ±0
  // F16 subnormal: value = m24 · 2^(e-23), in units of 2^-24 that is m24 >> shift.
  const m24 = mant | 0x800000;
  const shift = -e - 1; // 14..24
  let h = m24 >>> shift;
  const rest = m24 & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h += 1; // may carry into the smallest normal
  return sign | h;
}

/** float32 bits (u32) for the BF16 bits `b` (u16). Exact. */
export function bf16BitsToF32Bits(b: number): number {
  return (b << 16) >>> 0;
}

/** BF16 bits (u16) for the float32 bits `f` (u32), rounding to nearest even. */
export function f32BitsToBf16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lsb = (f >>> 16) & 1;
  return ((f + 0x7fff + lsb) >>> 16) & 0xffff; // f ≤ 0xff800000 here, so the sum fits below 2^32
}

const scratch = new DataView(new ArrayBuffer(4));

/** The number an F16 bit pattern stands for. */
export function f16ToNumber(h: number): number {
  scratch.setUint32(0, f16BitsToF32Bits(h));
  return scratch.getFloat32(0);
}

/** The F16 bit pattern nearest to `x` (first rounded to float32). */
export function numberToF16(x: number): number {
  scratch.setFloat32(0, x);
  return f32BitsToF16Bits(scratch.getUint32(0));
}

/** The number a BF16 bit pattern stands for. */
export function bf16ToNumber(b: number): number {
  scratch.setUint32(0, bf16BitsToF32Bits(b));
  return scratch.getFloat32(0);
}

/** The BF16 bit pattern nearest to `x` (first rounded to float32). */
export function numberToBf16(x: number): number {
  scratch.setFloat32(0, x);
  return f32BitsToBf16Bits(scratch.getUint32(0));
}
