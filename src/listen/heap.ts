/** Both semi-spaces of the young generation, as `new_space` counts them: 4 MB each. */
const YOUNG_GENERATION_CAP = 8 * 1024 * 1024;

/**
 * A listener that runs all day should stay small: V8 sizes its heap for throughput (150 MB of RSS for a 13 MB live
 * heap). The old generation's growth factor is read at every GC, so setting it once the listener is up takes effect:
 * RSS after a paced 100k-event run 154 → 83 MB (BENCHMARKS.md, memory). The young generation may grow to 4 MB per
 * semi-space and no further: pinned at 1 MB it was collected every ~100 events, −9.5 k instructions an event at 4 MB
 * (BENCHMARKS.md, callgrind). V8 reads the size limit only at start-up, so its growth factor is switched off once the
 * cap is reached (and on again if V8 shrinks it while idle). Values given to node itself win.
 */
export function sizeHeapForALongRun(): void {
  const v8 = process.getBuiltinModule('node:v8');
  const own = process.execArgv.join(' ');
  if (!own.includes('heap-growing-percent')) v8.setFlagsFromString('--heap-growing-percent=30');
  if (own.includes('semi-space')) return;
  let factor = 0;
  const steer = (): void => {
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    const next = young && young.space_size >= YOUNG_GENERATION_CAP ? 1 : 2;
    if (next === factor) return;
    factor = next;
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`);
  };
  steer();
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  new PerformanceObserver(steer).observe({ entryTypes: ['gc'] });
}
