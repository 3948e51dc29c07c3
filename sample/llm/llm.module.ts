import { Module } from '@nestjs/common';
import { LlmController } from './llm.controller';
import { LlmProvider } from './llm-provider';
import { OpenAiCompatibleProvider } from './openai-compatible.provider';
import { SimulatedLlmProvider } from './simulated-llm.provider';

@Module({
  controllers: [LlmController],
  providers: [
    {
      provide: LlmProvider,
      useFactory: () =>
        process.env.LLM_BASE_URL
          ? new OpenAiCompatibleProvider(process.env.LLM_BASE_URL, process.env.LLM_API_KEY)
          : new SimulatedLlmProvider(),
    },
  ],
  exports: [LlmProvider],
})
export class LlmModule {}
