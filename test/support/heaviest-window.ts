// The property the throttling specs assert: what a sliding window of `periodMs` ever held.

/** Largest sum of `amount`s whose times fall in one half-open interval [x, x + periodMs). */
export function heaviestWindow(points: { at: number; amount: number }[], periodMs: number): number {
  const sorted = [...points].sort((p, q) => p.at - q.at);
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (const p of sorted) {
    sum += p.amount;
    while (sorted[lo]!.at <= p.at - periodMs) sum -= sorted[lo++]!.amount;
    best = Math.max(best, sum);
  }
  return best;
}
