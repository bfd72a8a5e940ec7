import { describe, expect, it } from 'vitest';
import { bf16ToNumber, f16BitsToF32Bits, f16ToNumber, numberToBf16, numberToF16 } from './float16';

// Expected bit patterns worked out by hand from the IEEE 754 layouts (and cross-checked against
// numpy's float16 cast), never produced by this module.
describe('numberToF16', () => {
  it.each([
    [1.0, 0x3c00],
    [-2.5, 0xc100], // 1.25 · 2^1: exponent 16, mantissa 0x100
    [65504, 0x7bff], // largest finite
    [65520, 0x7c00], // halfway to 2^16: ties to even rounds up to Infinity
    [6.103515625e-5, 0x0400], // 2^-14, smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1e-7, 0x0002], // 1.68 · 2^-24 rounds to 2 · 2^-24
    [1e-8, 0x0000], // below 2^-25: underflows to +0
    [2 ** -25, 0x0000], // exactly half the smallest subnormal: ties to even (0)
    [3 * 2 ** -25, 0x0002], // 1.5 · 2^-24: ties to even (2)
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01: even wins
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: even wins
    [0.1, 0x2e66],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [NaN, 0x7e00],
  ])('numberToF16(%d) is %i', (x, bits) => {
    expect(numberToF16(x)).toBe(bits);
  });
});

describe('numberToBf16', () => {
  it.each([
    [1.0, 0x3f80],
    [-2.5, 0xc020], // float32 0xc0200000, upper half
    [65504, 0x4780], // float32 0x477fe000: low half 0xe000 > 0x8000 rounds up to 65536
    [1e-8, 0x322c], // float32 0x322bcc77: low half 0xcc77 rounds up
    [0.1, 0x3dcd], // float32 0x3dcccccd
    [1 + 2 ** -8, 0x3f80], // float32 0x3f808000: a tie, even (0x3f80) wins
    [1 + 3 * 2 ** -8, 0x3f82], // float32 0x3f818000: a tie, even (0x3f82) wins
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [NaN, 0x7fc0],
  ])('numberToBf16(%d) is %i', (x, bits) => {
    expect(numberToBf16(x)).toBe(bits);
  });
});

describe('f16ToNumber', () => {
  it('f16ToNumber reads normals, subnormals, zeros and infinities exactly', () => {
    expect(f16ToNumber(0x3c00)).toBe(1);
    expect(f16ToNumber(0xc100)).toBe(-2.5);
    expect(f16ToNumber(0x7bff)).toBe(65504);
    expect(f16ToNumber(0x0001)).toBe(2 ** -24);
    expect(f16ToNumber(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16ToNumber(0x0400)).toBe(2 ** -14);
    expect(Object.is(f16ToNumber(0x8000), -0)).toBe(true);
    expect(f16ToNumber(0xfc00)).toBe(-Infinity);
    expect(f16ToNumber(0x7e00)).toBeNaN();
  });

  it('f16BitsToF32Bits keeps NaN payloads', () => {
    expect(f16BitsToF32Bits(0x7c01)).toBe(0x7f802000);
    expect(f16BitsToF32Bits(0xfe00)).toBe(0xffc00000);
  });

  it('f16ToNumber then numberToF16 returns every one of the 65,536 patterns except NaNs', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = f16ToNumber(h);
      if (!Number.isNaN(x) && numberToF16(x) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});

describe('bf16ToNumber', () => {
  it('bf16ToNumber is the upper half of a float32', () => {
    expect(bf16ToNumber(0x3f80)).toBe(1);
    expect(bf16ToNumber(0xc020)).toBe(-2.5);
    expect(bf16ToNumber(0x4780)).toBe(65536);
    expect(bf16ToNumber(0x0001)).toBe(2 ** -133); // float32 subnormal
    expect(bf16ToNumber(0xff80)).toBe(-Infinity);
  });

  it('bf16ToNumber then numberToBf16 returns every non-NaN pattern', () => {
    const wrong: number[] = [];
    for (let b = 0; b < 0x10000; b++) {
      const x = bf16ToNumber(b);
      if (!Number.isNaN(x) && numberToBf16(x) !== b) wrong.push(b);
    }
    expect(wrong).toEqual([]);
  });
});

describe('rounding', () => {
  // The definition of round-to-nearest as the oracle: no neighbouring pattern is strictly closer.
  function nearestViolations(encode: (x: number) => number, decode: (b: number) => number, maxAbs: number): number[] {
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const bad: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = Math.fround((random() * 2 - 1) * maxAbs * 2 ** -Math.floor(random() * 40));
      const b = encode(x);
      const err = Math.abs(decode(b) - x);
      for (const n of [b - 1, b + 1]) {
        const y = decode(n & 0xffff);
        if (Number.isFinite(y) && Math.sign(y) === Math.sign(decode(b)) && Math.abs(y - x) < err) bad.push(x);
      }
    }
    return bad;
  }

  it('numberToF16 picks a nearest F16 value for random float32 inputs', () => {
    expect(nearestViolations(numberToF16, f16ToNumber, 65504)).toEqual([]);
  });

  it('numberToBf16 picks a nearest BF16 value for random float32 inputs', () => {
    expect(nearestViolations(numberToBf16, bf16ToNumber, 3e38)).toEqual([]);
  });
});
