// Preloaded with `node --import` by the benchmark: writes the process's peak RSS (bytes) to the
// file named by BASIN_BENCH_RSS when the process exits, without touching basin's own code.
import { writeFileSync } from 'node:fs';

const out = process.env.BASIN_BENCH_RSS;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
