import { createParameterDecorator } from 'type-graphql';
import type { Context, Viewer } from './context';
import { unauthenticated } from './errors';

/** The authenticated caller, or UNAUTHENTICATED before the resolver runs. */
export function requireViewer(ctx: Context): Viewer {
  if (!ctx.viewer) throw ctx.authError ?? unauthenticated();
  return ctx.viewer;
}

export function CurrentViewer() {
  return createParameterDecorator<Context>(({ context }) => requireViewer(context));
}
