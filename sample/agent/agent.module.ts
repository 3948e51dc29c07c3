import { Module } from '@nestjs/common';
import { LlmCallService } from '../../src';
import { LlmModule } from '../llm/llm.module';
import { LlmProvider } from '../llm/llm-provider';
import { AGENT_CLIENTS, agentClients } from './agent.clients';
import { AgentController } from './agent.controller';
import { AgentService } from './agent.service';
import { DigestQueue } from './digest.queue';

/** The agent, queue and AI SDK chat demos (needs LlmCallsModule and the sample's LlmModule). */
@Module({
  imports: [LlmModule],
  controllers: [AgentController],
  providers: [
    {
      provide: AGENT_CLIENTS,
      inject: [LlmCallService, LlmProvider],
      useFactory: agentClients,
    },
    AgentService,
    DigestQueue,
  ],
  exports: [AgentService, DigestQueue],
})
export class AgentModule {}
