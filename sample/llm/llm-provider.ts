import type { ChatCompletion, ChatCompletionChunk, GenerateRequest } from './chat-completion';

/** What the sample's controller calls: the simulated LLM or a real OpenAI-compatible one. */
export abstract class LlmProvider {
  /** How many upstream calls were made, for the demo and the tests. */
  calls = 0;
  abstract complete(request: GenerateRequest): Promise<ChatCompletion>;
  abstract stream(request: GenerateRequest): AsyncIterable<ChatCompletionChunk>;
}
