import { parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type ParseOptions, type ValidationRule } from 'graphql';

/** Distinct operation texts remembered; clients send a handful each, over and over. */
const MAX_DOCUMENTS = 1000;
/** Longer texts are parsed every time: they are rare, and would crowd out the common ones. */
const MAX_CACHED_LENGTH = 16 * 1024;

/**
 * Parsed and validated documents by operation text, shared by every
 * subscription that sends the same text: one AST (without locations) per
 * text instead of one per subscription, and validation once per text. A
 * text that fails validation is not kept; its errors are reported from a
 * parse with locations, as without the cache. Parse errors (syntax, the
 * token limit) throw as `parse` does.
 */
export class DocumentCache {
  private readonly valid = new Map<string, DocumentNode>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly options: ParseOptions,
    private readonly rules: readonly ValidationRule[],
  ) {}

  parseAndValidate(text: string): { document: DocumentNode; errors?: undefined } | { document?: undefined; errors: readonly GraphQLError[] } {
    const hit = this.valid.get(text);
    if (hit) {
      // Most recently used last: the first key is the one to evict.
      this.valid.delete(text);
      this.valid.set(text, hit);
      return { document: hit };
    }
    const document = parse(text, { ...this.options, noLocation: true });
    if (validate(this.schema, document, this.rules).length) {
      const located = parse(text, this.options);
      const errors = validate(this.schema, located, this.rules);
      // Locations never change validity; should they disagree, the located verdict stands.
      if (errors.length) return { errors };
      return { document: located };
    }
    if (text.length <= MAX_CACHED_LENGTH) {
      if (this.valid.size >= MAX_DOCUMENTS) this.valid.delete(this.valid.keys().next().value as string);
      this.valid.set(text, document);
    }
    return { document };
  }
}
