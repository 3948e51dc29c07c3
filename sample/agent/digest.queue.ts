import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { runAs } from '../../src';
import { AgentService } from './agent.service';

/** A digest job: summarize a text for a user. */
export interface DigestJob {
  userId: string;
  text: string;
}

interface Queued extends DigestJob {
  id: string;
  resolve(summary: string): void;
  reject(error: unknown): void;
}

/**
 * A queue-style worker (what a BullMQ processor would be): jobs run in a loop started at
 * boot, outside any request, and each says whose it is with `runAs({ userId })`: its LLM
 * calls are cached in that user's partition and charged to that user's budget.
 */
@Injectable()
export class DigestQueue implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DigestQueue');
  private readonly jobs: Queued[] = [];
  readonly results = new Map<string, { status: 'queued' | 'done' | 'failed'; summary?: string }>();
  private wake?: () => void;
  private stopped = false;

  constructor(private readonly agent: AgentService) {}

  /** Queues a job; `done` settles with its summary. */
  enqueue(job: DigestJob): { id: string; done: Promise<string> } {
    const id = randomUUID();
    this.results.set(id, { status: 'queued' });
    if (this.results.size > 1000) this.results.delete(this.results.keys().next().value!);
    const done = new Promise<string>((resolve, reject) =>
      this.jobs.push({ ...job, id, resolve, reject }),
    );
    done.catch(() => undefined);
    this.wake?.();
    return { id, done };
  }

  onApplicationBootstrap(): void {
    void this.work();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const job = this.jobs.shift();
      if (!job) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        const summary = await runAs({ userId: job.userId }, () => this.agent.summarize(job.text));
        this.results.set(job.id, { status: 'done', summary });
        job.resolve(summary);
      } catch (error) {
        this.results.set(job.id, { status: 'failed' });
        this.logger.warn(
          `digest job ${job.id} failed: ${error instanceof Error ? error.name : 'error'}`,
        );
        job.reject(error);
      }
    }
  }
}
