/**
 * The ranking program the WebGL decisions share (the GLSL twin of ../webgpu/rank.ts): each element
 * [b, k] of a [B, count] output is the rank of value k in its image, the number of values above it
 * or equal to it at a lower index (descending, ties lower index first, as tf.topk). O(count) per
 * element, computed once per decision instead of inside every element that needs a rank.
 */

/** `void main()` ranking the values `get<Input>(b, q, 0)`, q < the int uniform `count`. */
export function descendingRankGlsl(input: string, count: string): string {
  const get = `get${input[0].toUpperCase()}${input.slice(1)}`;
  return `
    void main() {
      ivec2 c = getOutputCoords();
      float s = ${get}(c.x, c.y, 0);
      int rank = 0;
      for (int q = 0; q < ${count}; q++) {
        float o = ${get}(c.x, q, 0);
        if (o > s || (o == s && q < c.y)) { rank++; }
      }
      setOutput(float(rank));
    }`;
}
