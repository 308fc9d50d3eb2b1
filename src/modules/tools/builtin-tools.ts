import { calculatorTool } from './calculator.tool';
import { createCurrentTimeTool } from './current-time.tool';
import { searchConversationsTool } from './search-conversations.tool';
import type { ToolCache } from './tool-cache';
import { ToolRegistry, type ToolRegistryOptions } from './tool-registry';

/**
 * The registry every run starts from. The cache is chosen by the caller (memory
 * on a single node, Redis when scaled), so this module never reads config.
 */
export function createBuiltinRegistry(
  cache: ToolCache,
  options: Omit<ToolRegistryOptions, 'cache'> = {},
): ToolRegistry {
  return new ToolRegistry({ ...options, cache })
    .register(calculatorTool)
    .register(createCurrentTimeTool())
    .register(searchConversationsTool);
}
