import type { AgentCatalog } from '../modules/agents/agent.service';
import { badInput } from './errors';

const MODEL_ID = /^[a-z0-9][a-z0-9_.-]*\/\S+$/i;

/** Model and tool names that agents and conversations may reference. */
export function createCatalog(): AgentCatalog {
  return {
    checkModel(modelId, field) {
      if (!MODEL_ID.test(modelId)) throw badInput(field, 'must look like provider/model, e.g. demo/demo');
    },
    checkTools() {
      // Replaced by the tool registry in the run engine.
    },
  };
}
