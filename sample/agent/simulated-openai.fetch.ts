import type { GenerateRequest } from '../llm/chat-completion';
import type { LlmProvider } from '../llm/llm-provider';

const encoder = new TextEncoder();

/**
 * A `fetch` for the `openai` (and `@ai-sdk/openai`) client that answers
 * `POST .../chat/completions` from the sample's LLM provider, in the OpenAI wire format
 * (JSON, or SSE with `data: [DONE]`), without a socket: the simulated LLM speaks the OpenAI
 * API to the real SDKs. Anything else is a 404.
 */
export function simulatedOpenAiFetch(provider: LlmProvider): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/chat/completions') || typeof init?.body !== 'string')
      return new Response(JSON.stringify({ error: { message: 'not simulated' } }), { status: 404 });
    const body = JSON.parse(init.body) as GenerateRequest & { max_completion_tokens?: number };
    const request: GenerateRequest = {
      model: body.model,
      messages: body.messages,
      temperature: body.temperature,
      max_tokens: body.max_tokens ?? body.max_completion_tokens,
    };
    if (body.stream !== true)
      return Response.json(await provider.complete(request), {
        headers: { 'x-request-id': 'sim' },
      });
    const chunks = provider.stream(request)[Symbol.asyncIterator]();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (done) {
          controller.enqueue(encoder.encode('data: [DONE]\n\n'));
          controller.close();
        } else controller.enqueue(encoder.encode(`data: ${JSON.stringify(value)}\n\n`));
      },
      async cancel() {
        await chunks.return?.();
      },
    });
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
  };
}
