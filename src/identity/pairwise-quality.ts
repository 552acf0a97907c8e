/**
 * Pairwise quality of an entity resolution against ground truth.
 *
 * Every unordered pair of distinct records {x, y} is a decision: the resolution either puts x and y
 * in the same profile (a *predicted* pair) or not, and the truth either puts them in the same
 * cluster (a *true* pair) or not. A *correct* pair is both predicted and true.
 *
 * - precision = correct / predicted: of the pairs the resolution merged, the share that are the same
 *   person. 1.0 means no over-merging. Defined as 1 when nothing is merged (no predicted pairs).
 * - recall = correct / true: of the pairs that are the same person, the share the resolution merged.
 *   1.0 means no splitting. Defined as 1 when the truth has no pairs.
 * - F1 = 2 · precision · recall / (precision + recall), 0 when both are 0.
 *
 * The counts come from group sizes, not from enumerating pairs (which is quadratic in group size):
 * a group of n records holds C(n, 2) = n(n-1)/2 pairs, so
 *   predicted = Σ over profiles C(|profile|, 2),
 *   true      = Σ over clusters C(|cluster|, 2),
 *   correct   = Σ over non-empty (profile ∩ cluster) C(|profile ∩ cluster|, 2),
 * since x and y are in the same profile *and* the same cluster exactly when they share a
 * (profile, cluster) intersection group. One pass over the records, O(records) time and memory.
 *
 * Both maps must cover the same records (a record missing from one side has no decision); a
 * mismatch throws rather than silently scoring a subset.
 */
export interface PairwiseQuality {
  precision: number;
  recall: number;
  f1: number;
  /** pairs in the same truth cluster */
  truePairs: number;
  /** pairs in the same predicted profile */
  predictedPairs: number;
  /** pairs in both */
  correctPairs: number;
}

export class PairwiseQualityError extends Error {}

export function pairwiseQuality<R, P, C>(predicted: ReadonlyMap<R, P>, truth: ReadonlyMap<R, C>): PairwiseQuality {
  if (predicted.size !== truth.size) {
    throw new PairwiseQualityError(`predicted covers ${predicted.size} records, truth ${truth.size}; both must cover the same records`);
  }
  const profileSizes = new Map<P, number>();
  const clusterSizes = new Map<C, number>();
  // intersection groups keyed by profile, then cluster (no string keys, so any id types work)
  const both = new Map<P, Map<C, number>>();
  for (const [record, cluster] of truth) {
    if (!predicted.has(record)) {
      throw new PairwiseQualityError(`record ${String(record)} is in the truth but not in the prediction`);
    }
    const profile = predicted.get(record) as P;
    profileSizes.set(profile, (profileSizes.get(profile) ?? 0) + 1);
    clusterSizes.set(cluster, (clusterSizes.get(cluster) ?? 0) + 1);
    let byCluster = both.get(profile);
    if (byCluster === undefined) both.set(profile, (byCluster = new Map()));
    byCluster.set(cluster, (byCluster.get(cluster) ?? 0) + 1);
  }
  const pairs = (sizes: Iterable<number>) => {
    let total = 0;
    for (const n of sizes) total += (n * (n - 1)) / 2;
    return total;
  };
  const predictedPairs = pairs(profileSizes.values());
  const truePairs = pairs(clusterSizes.values());
  let correctPairs = 0;
  for (const byCluster of both.values()) correctPairs += pairs(byCluster.values());

  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, truePairs, predictedPairs, correctPairs };
}
