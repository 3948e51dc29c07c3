import { createOpenAI } from '@ai-sdk/openai';
import { wrapLanguageModel, type LanguageModel } from 'ai';
import OpenAI from 'openai';
import { LlmCallService, llmCallsMiddleware, wrapOpenAI } from '../../src';
import type { LlmProvider } from '../llm/llm-provider';
import { simulatedOpenAiFetch } from './simulated-openai.fetch';

/** The agent's three call sites, each a wrapped view of one `openai` client. */
export interface AgentClients {
  plan: OpenAI;
  draft: OpenAI;
  review: OpenAI;
  /** The AI SDK model of the chat route, cached through the middleware. */
  chat: LanguageModel;
}

export const AGENT_CLIENTS = Symbol('AGENT_CLIENTS');

/**
 * The real `openai` and `@ai-sdk/openai` clients, pointed at `LLM_BASE_URL` when set, else at
 * the simulated LLM (in process, speaking the OpenAI API through their `fetch` option).
 */
export function agentClients(calls: LlmCallService, provider: LlmProvider): AgentClients {
  const baseURL = process.env.LLM_BASE_URL;
  const fetch = baseURL ? undefined : simulatedOpenAiFetch(provider);
  const settings = {
    apiKey: process.env.LLM_API_KEY ?? 'sk-simulated',
    baseURL: baseURL ?? 'http://simulated.invalid/v1',
    fetch,
  };
  const openai = new OpenAI({ ...settings, maxRetries: 0 });
  return {
    plan: wrapOpenAI(openai, calls, { name: 'agent.plan', ttlMs: 600_000 }),
    draft: wrapOpenAI(openai, calls, { name: 'agent.draft' }),
    review: wrapOpenAI(openai, calls, { name: 'agent.review' }),
    chat: wrapLanguageModel({
      model: createOpenAI(settings).chat('gpt-4o-mini'),
      middleware: llmCallsMiddleware(calls, { name: 'chat.sse', replay: 'recorded' }),
    }),
  };
}
