import { Ctx, Query, Resolver } from 'type-graphql';
import type { Context, Viewer } from '../../server/context';
import { CurrentViewer } from '../../server/viewer.decorator';
import { ModelType } from './model.types';

@Resolver(() => ModelType)
export class ModelResolver {
  @Query(() => [ModelType], { description: 'Models that runs can use on this server, with prices and limits.' })
  models(@Ctx() ctx: Context, @CurrentViewer() _viewer: Viewer): ModelType[] {
    return ctx.services.providers.listModels().map((m) => ({
      id: m.id,
      provider: m.provider,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      inputPricePer1M: m.inputPricePer1M,
      outputPricePer1M: m.outputPricePer1M,
      cachedInputPricePer1M: m.cachedInputPricePer1M ?? null,
      capabilities: m.capabilities,
      description: m.description ?? null,
    }));
  }
}
