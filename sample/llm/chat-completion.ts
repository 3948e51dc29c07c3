/** The parsed body of `POST /llm/generate`. */
export interface GenerateRequest {
  provider?: string;
  model: string;
  messages: { role: string; content: unknown }[];
  temperature?: number;
  max_tokens?: number;
  stream?: boolean;
  user?: string;
}

/** An OpenAI-style chat completion. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string };
    finish_reason: string;
  }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** One streamed chunk, OpenAI style. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { content?: string }; finish_reason: string | null }[];
  usage?: ChatCompletion['usage'];
}
