import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { findRedisBinary, INSTALL_HINT } from './redis-binary';
import { freePort } from './free-port';

export interface RedisServerOptions {
  port?: number;
  /** Extra redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  args?: string[];
}

/**
 * A redis-server process of the test run's own, on a free port, with no persistence.
 * It can be stopped (SIGKILL, like a crash) and started again on the same port.
 */
export class RedisServer {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'llm-kit-redis-'));

  private constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly args: string[],
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const binary = findRedisBinary();
    if (!binary) throw new Error(INSTALL_HINT);
    const server = new RedisServer(binary, options.port ?? (await freePort()), options.args ?? []);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The server as `RedisModule.forRoot()` takes it. */
  get target(): { url: string } {
    return { url: this.url };
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Starts the process (if it is not running) and resolves once it answers PING. */
  async restart(): Promise<void> {
    if (this.running) return;
    const child = spawn(
      this.binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void =>
        reject(
          new Error(`redis-server on port ${this.port} exited with ${code}: ${output.slice(-500)}`),
        );
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
    child.stdout?.resume();
    child.stderr?.resume();
    await this.ping();
  }

  /** Freezes the process (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused process go on (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the process at once (SIGKILL) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  private async ping(): Promise<void> {
    const client = createClient({ url: this.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.ping();
    } finally {
      client.destroy();
    }
  }
}
