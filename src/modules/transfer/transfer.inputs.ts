import { Field, InputType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { ConversationFormat } from './transfer.types';

@InputType({ description: 'A conversation document to import as a new conversation owned by the viewer.' })
export class ImportConversationInput {
  @Field(() => ConversationFormat, { description: 'The format of data.' })
  format!: ConversationFormat;

  @Field(() => GraphQLJSON, {
    description:
      'The document, as exportConversation returns it. It is validated whole before anything is written; an error names the first bad place by its path inside data, e.g. messages[17].parentId.',
  })
  data!: unknown;

  @Field(() => String, { nullable: true, description: "Title of the new conversation (default: the document's, else \"Imported conversation\")." })
  title?: string | null;
}
