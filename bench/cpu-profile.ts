/**
 * Preloaded into a benchmarked process (`NODE_OPTIONS=--require …/cpu-profile.js`,
 * which refuses `--cpu-prof`) when BENCH_CPU_PROF names a directory: each
 * SIGUSR2 starts or stops a CPU profile, and each stop writes it there as
 * <pid>-<n>.cpuprofile (Chrome DevTools, speedscope), so a benchmark profiles
 * only the part it measures. A profile still running at exit is written too.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  let running = false;
  let written = 0;
  // The in-process session answers synchronously, so a profile is written even from 'exit'.
  const stop = () => {
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}-${++written}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on('SIGUSR2', () => {
    if (running) return stop();
    running = true;
    session.post('Profiler.start');
  });
  process.once('exit', () => {
    if (running) stop();
  });
}
