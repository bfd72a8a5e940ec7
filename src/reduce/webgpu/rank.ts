/**
 * The ranking loop the fused decisions share, as a WGSL snippet: a value's rank is the number of
 * values above it, or equal to it at a lower index (descending order, ties lower index first, as
 * tf.topk and the official torch sorts on these inputs). O(count) per value: for the token counts
 * of a ViT far cheaper than the sort and inverse permutation it replaces.
 */

/**
 * `fn name(<params>k : i32) -> i32`, the rank of value k among values 0 … count − 1, where
 * `valueAt(q)` is the WGSL expression of value q (it may use the extra `params`, e.g. 'b : i32, ').
 */
export function descendingRankWgsl(name: string, valueAt: (index: string) => string, count: string, params = ''): string {
  return `
      fn ${name}(${params}k : i32) -> i32 {
        let s = ${valueAt('k')};
        var rank = 0;
        for (var q = 0; q < ${count}; q++) {
          let o = ${valueAt('q')};
          if (o > s || (o == s && q < k)) { rank = rank + 1; }
        }
        return rank;
      }`;
}
