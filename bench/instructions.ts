import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Instructions per request of one scenario, as bench/hit-instructions.sh counts them. */
export interface InstructionCount {
  name: string;
  perRequest: number;
  /** The same without V8's compilers (JIT work left after the warm-up). */
  withoutJit: number;
}

/** Whether callgrind can run here (valgrind and its tools on the PATH). */
export function valgrindMissing(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

/**
 * Runs bench/hit-instructions.sh for one scenario (the compiled scenarios in dist-sample/, the
 * bench's Redis). WARM and MEAS (warm-up and counted requests) pass through from the environment.
 */
export function countInstructions(name: string, redisUrl: string): Promise<InstructionCount> {
  const script = join(process.cwd(), 'bench', 'hit-instructions.sh');
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [script, name],
      { env: { ...process.env, REDIS_URL: redisUrl }, maxBuffer: 1 << 20, timeout: 30 * 60_000 },
      (error, stdout, stderr) => {
        const match = /: (\d+) instructions per request \((\d+) without/.exec(stdout);
        if (error || !match) {
          reject(
            new Error(`hit-instructions.sh ${name} failed: ${error?.message ?? ''}\n${stderr}`),
          );
          return;
        }
        resolve({ name, perRequest: Number(match[1]), withoutJit: Number(match[2]) });
      },
    );
  });
}
