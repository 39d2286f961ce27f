// Float rounding for the port: Math.fround, and a faster equivalent for the hot loops.

export const fr = Math.fround;
/** 2^29 + 1: Veltkamp's splitter for rounding a double's 53-bit significand to float's 24. */
const SPLIT = 536870913;
/**
 * Math.fround for the hot loops: Veltkamp's split keeps the top 24 bits, rounded to nearest,
 * ties to even, as fround does (for normal floats; nothing here comes near 2^−126). V8 makes
 * fround two conversions, which run slower than this multiply and two subtractions.
 */
export function r32(x: number): number {
  const c = x * SPLIT;
  return c - (c - x);
}
