import { Inject, Injectable } from '@nestjs/common';
import { AGENT_CLIENTS, type AgentClients } from './agent.clients';

const MODEL = 'gpt-4o-mini';

/** The agent's result: each step's text. */
export interface AgentRun {
  plan: string;
  draft: string;
  answer: string;
}

/**
 * A three-step agent: plan, draft from the plan, review the draft. Each step depends on the
 * one before and goes through its own wrapped call site; it never sees `req`, yet each call
 * is cached for the request's user and charged to its budget.
 */
@Injectable()
export class AgentService {
  constructor(@Inject(AGENT_CLIENTS) private readonly clients: AgentClients) {}

  async run(question: string): Promise<AgentRun> {
    const plan = await this.ask(this.clients.plan, `Plan how to answer: ${question}`);
    const draft = await this.ask(this.clients.draft, `Follow this plan: ${plan}`);
    const answer = await this.ask(this.clients.review, `Review and improve: ${draft}`);
    return { plan, draft, answer };
  }

  /** One summary, for the queue worker (called outside any request). */
  summarize(text: string): Promise<string> {
    return this.ask(this.clients.draft, `Summarize in one sentence: ${text}`);
  }

  private async ask(client: AgentClients['plan'], content: string): Promise<string> {
    const completion = await client.chat.completions.create({
      model: MODEL,
      temperature: 0,
      messages: [{ role: 'user', content }],
    });
    return completion.choices[0]?.message.content ?? '';
  }
}
