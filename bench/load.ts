import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { BenchRequest } from './scenario';

export interface LoadResult {
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Drives a target with autocannon for `durationS` seconds from a child process. */
export function load(
  target: BenchRequest,
  durationS: number,
  connections: number,
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'load-worker.js'), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (result: LoadResult) => resolve(result));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
    child.send({
      url: target.url,
      method: target.method ?? 'GET',
      body: target.body,
      headers: { 'content-type': 'application/json', ...target.headers },
      duration: durationS,
      connections,
    });
  });
}
