import type { AgentCatalog } from '../modules/agents/agent.service';
import type { ProviderRegistry } from '../modules/providers/provider-registry';
import type { ToolRegistry } from '../modules/tools/tool-registry';
import { badInput } from './errors';

/** What agents and conversations may reference: configured models and registered tools. */
export function createCatalog(providers: ProviderRegistry, tools: ToolRegistry): AgentCatalog {
  return {
    checkModel(modelId, field) {
      try {
        providers.resolve(modelId);
      } catch (err) {
        throw badInput(field, (err as Error).message);
      }
    },
    checkTools(names, field) {
      const unknown = names.filter((n) => !tools.get(n));
      if (unknown.length) {
        const known = tools.list().map((t) => t.name).join(', ');
        throw badInput(field, `unknown tools: ${unknown.join(', ')} (available: ${known})`);
      }
    },
  };
}
